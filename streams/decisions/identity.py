"""Identity matching: which child key a child named in an event belongs to. Pure, synchronous.

Two mistakes are dangerous here, in different ways. A wrong *confident* match merges two children's
records, so one child's history is read as another's; a missed match hides a child's history. So a
match is one of three kinds (:class:`MatchKind`): ``confirmed`` (linked), ``possible`` (linked and
said out loud: "possible match, to confirm") or ``new`` (a new child key). When in doubt the answer
is ``possible``, never ``confirmed``.

**Exact identifiers** come first (:func:`exact_identifiers`), in priority order: the NHS number
(only a valid one), the unique pupil number (only a well-formed one) and the sending partner's own
reference, scoped by sender (two partners' "12345" are two children). An exact identifier found in
the index is a ``confirmed`` match with score 1.0.

**Fuzzy matching** only looks at children filed under the same date of birth, or under its
day/month transposition (:func:`candidate_keys`). A child without a usable date of birth, including
an unborn child known only by an expected date of delivery, is never matched fuzzily: a name alone
identifies nobody. Each candidate gets a :func:`score` in [0, 1]:

Base score, from how the given name and the family name agree (date of birth equal)::

    given name \\ family name   equal  part   typo   missing  differs
    equal                        0.90   0.84   0.84   0.78     0.74
    nickname or variant          0.82   0.76   0.76   0.70     0.62
    typo                         0.80   0.74   0.72   0.64     0.58
    missing                      0.66   0.60   0.60   0.20     0.20
    differs                      0.30   0.25   0.25   0.20     0.10

Then: date of birth with day and month transposed -0.10; postcode equal to one seen +0.05,
different from all seen -0.05 (children move, so only a little); school URN equal +0.05 (different
is no evidence: children change school); an NHS number or UPN on both sides that differs -0.20.
The result is clamped to [0, 1] and rounded to 3 places. A different date of birth (not the
transposition) scores 0.

A candidate is ``confirmed`` at :data:`CONFIRM_THRESHOLD` (0.9) and ``possible`` at
:data:`POSSIBLE_THRESHOLD` (0.7). Only an *equal* given name with an *equal* date of birth, a family
name that agrees (equal, part or typo) and no conflicting identifier can reach ``confirmed``;
anything else is held at :data:`POSSIBLE_CEILING`. The cases this is built for:

* twins and siblings with the same birthday (same family name, date of birth and postcode,
  different given names): 0.35, ``new``;
* a changed surname (same given name, date of birth, postcode): 0.79, ``possible``;
* a typo in the given name, all else equal: 0.85, ``possible`` (and never more, whatever else
  agrees), because twins are sometimes given near-identical names (Jayden and Jaden). What
  counts as a typo is narrow for the same reason (see ``_is_typo``): "Louis"/"Louise" and
  "Ava"/"Eva" are two children;
* a nickname ("Alfie" for Alfred), all else equal: 0.87, ``possible``, because nicknames are shared
  between names (Sam: Samuel or Samantha) and so between twins;
* full name and date of birth, no postcode to compare: 0.90, ``confirmed``; with a different
  postcode: 0.85, ``possible``.

Several candidates within :data:`TIE_MARGIN` of the best, at or above the possible threshold, make
the best a ``possible`` match whose reason says "several candidates".

Reasons name the kinds of evidence, never their values: they travel into logs and work items.

A field named in ``invalid_fields`` (a data-quality issue, see :mod:`schemas.quality`; paths are
relative to the child, e.g. ``nhs_number``, ``address.postcode``) is never used for matching.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from urllib.parse import quote

# MatchKind is part of the event contract (ChildMatch.kind), so it is defined once, with the
# models, and re-exported here rather than duplicated.
from schemas.models import Child, MatchKind
from schemas.quality import check_upn, nhs_number_is_valid
from schemas.wire import UNKNOWN_SENDER

__all__ = [
    "CONFIRM_THRESHOLD",
    "POSSIBLE_CEILING",
    "POSSIBLE_THRESHOLD",
    "TIE_MARGIN",
    "KnownChild",
    "Match",
    "MatchKind",
    "candidate_keys",
    "exact_identifiers",
    "known_child_from",
    "normalise_name",
    "normalise_postcode",
    "resolve",
    "score",
]

CONFIRM_THRESHOLD = 0.9
POSSIBLE_THRESHOLD = 0.7
# Highest score of a candidate that may not be confirmed (see the module docstring).
POSSIBLE_CEILING = 0.89
# Candidates this close to the best are indistinguishable on the evidence we have.
TIE_MARGIN = 0.05


@dataclass(frozen=True)
class KnownChild:
    """What the identity index keeps per child key (no free text)."""

    child_key: str
    given_names: tuple[str, ...]  # normalised forms seen
    family_names: tuple[str, ...]  # normalised forms seen
    date_of_birth: date | None
    postcodes: tuple[str, ...]  # normalised
    nhs_number: str | None = None
    unique_pupil_number: str | None = None
    school_urns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    """How one child was linked: the kind, the key, the score and why (no personal data)."""

    kind: MatchKind
    child_key: str
    score: float  # 1.0 for an exact identifier; for NEW, the best candidate's score (or 0.0)
    reason: str


# ---------------------------------------------------------------------------------------------
# Normalisation.

_APOSTROPHES = frozenset("'\u2018\u2019\u02bc\u02bb`\u00b4")
# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSED = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "ħ": "h",
        "\u0131": "i",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
    }
)


# Bounded, and keyed on the name alone: the same children, and their families' names, come back
# event after event, and comparing candidates normalises their (known) names again.
@functools.lru_cache(maxsize=8192)
def normalise_name(name: str) -> str:
    """Casefolded, without accents or apostrophes; hyphens and other punctuation become single
    spaces. "Zoë" -> "zoe", "O'Brien" -> "obrien", "Smith-Jones" and "SMITH  jones" ->
    "smith jones"."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(char for char in text if not unicodedata.combining(char))
    # Casefold again: decomposition can produce new capitals (compatibility forms).
    text = text.casefold().translate(_UNDECOMPOSED)
    text = "".join(char for char in text if char not in _APOSTROPHES)
    text = "".join(char if char.isalnum() else " " for char in text)
    return " ".join(text.split())


def normalise_postcode(postcode: str) -> str:
    """Upper case, no spaces: "ab1 2cd" -> "AB12CD"."""
    return "".join(postcode.split()).upper()


def _compact(normalised: str) -> str:
    # "smith jones", "smithjones" and "o brien"/"obrien" are the same name written differently.
    return normalised.replace(" ", "")


def _unusable(field: str, invalid_fields: Collection[str]) -> bool:
    # An issue on a field or on its parent ("address" for "address.postcode") rules it out.
    # Most children have no issue at all: asked a dozen times per child, answered without a loop.
    return bool(invalid_fields) and any(
        field == bad or field.startswith(f"{bad}.") for bad in invalid_fields
    )


# ---------------------------------------------------------------------------------------------
# The child's usable fields, normalised.


def _nhs_number(child: Child, invalid_fields: Collection[str]) -> str | None:
    if child.nhs_number is None or _unusable("nhs_number", invalid_fields):
        return None
    digits = child.nhs_number.replace(" ", "").replace("-", "")
    # Checked here too, not only by the data-quality step: a wrong NHS number would be a
    # confident wrong match.
    return digits if nhs_number_is_valid(digits) else None


def _unique_pupil_number(child: Child, invalid_fields: Collection[str]) -> str | None:
    if child.unique_pupil_number is None or _unusable("unique_pupil_number", invalid_fields):
        return None
    upn = "".join(child.unique_pupil_number.split()).upper()
    return None if any(check_upn("unique_pupil_number", upn)) else upn


# What partners put in a reference field when they have none; never an identifier.
_PLACEHOLDERS = frozenset(
    {"na", "nk", "none", "null", "nil", "unknown", "notknown", "tbc", "tba", "notapplicable"}
)


def _partner_reference(child: Child, invalid_fields: Collection[str]) -> str | None:
    if child.partner_reference is None or _unusable("partner_reference", invalid_fields):
        return None
    reference = child.partner_reference.strip()
    letters = "".join(char for char in reference.casefold() if char.isalnum())
    if letters in _PLACEHOLDERS or not letters.strip("0"):
        return None
    return reference


def _date_of_birth(child: Child, invalid_fields: Collection[str]) -> date | None:
    if _unusable("date_of_birth", invalid_fields):
        return None
    return child.date_of_birth


def _postcode(child: Child, invalid_fields: Collection[str]) -> str | None:
    if child.address is None or child.address.postcode is None:
        return None
    if _unusable("address.postcode", invalid_fields):
        return None
    return normalise_postcode(child.address.postcode) or None


def _school_urn(child: Child, invalid_fields: Collection[str]) -> str | None:
    if child.school_urn is None or _unusable("school_urn", invalid_fields):
        return None
    return child.school_urn.strip() or None


def _name(value: str | None, field: str, invalid_fields: Collection[str]) -> str | None:
    if value is None or _unusable(field, invalid_fields):
        return None
    return normalise_name(value) or None


def _other_names(child: Child, invalid_fields: Collection[str]) -> list[str]:
    names = []
    for position, other in enumerate(child.other_names):
        name = _name(other, f"other_names.{position}", invalid_fields)
        if name is not None and not _unusable("other_names", invalid_fields):
            names.append(name)
    return names


def _transposed(born: date) -> date | None:
    """The date with day and month swapped, when that is a different valid date."""
    if born.day > 12 or born.day == born.month:
        return None
    # The new day is the old month (1-12), which every month has.
    return date(born.year, born.day, born.month)


# ---------------------------------------------------------------------------------------------
# Index keys and records.


def exact_identifiers(child: Child, sender: str, invalid_fields: Collection[str]) -> list[str]:
    """Lookup keys in priority order: ``nhs:<10 digits>``, ``upn:<UPN>``,
    ``ref:<sender>:<partner_reference>``. Fields named in ``invalid_fields`` are skipped, and so
    are NHS numbers failing the check digit, malformed UPNs and placeholder references ("N/A").

    The sender is percent-encoded (``quote(sender, safe="")``), so a colon in it cannot make two
    partners' references collide; ordinary sender codes (letters, digits, ``._-``) are unchanged.
    """
    keys = []
    nhs = _nhs_number(child, invalid_fields)
    if nhs is not None:
        keys.append(f"nhs:{nhs}")
    upn = _unique_pupil_number(child, invalid_fields)
    if upn is not None:
        keys.append(f"upn:{upn}")
    reference = _partner_reference(child, invalid_fields)
    scope = sender.strip()
    if reference is not None and scope and scope != UNKNOWN_SENDER:
        keys.append(f"ref:{quote(scope, safe='')}:{reference}")
    return keys


def candidate_keys(child: Child, invalid_fields: Collection[str]) -> list[str]:
    """``dob:YYYY-MM-DD``, then the day/month-transposed date when valid and different; empty
    when there is no usable date of birth (an unborn child has none: exact identifiers only)."""
    born = _date_of_birth(child, invalid_fields)
    if born is None:
        return []
    keys = [f"dob:{born.isoformat()}"]
    flipped = _transposed(born)
    if flipped is not None:
        keys.append(f"dob:{flipped.isoformat()}")
    return keys


def _merged(seen: Iterable[str], new: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*seen, *([new] if new else [])]))


def known_child_from(
    child: Child,
    child_key: str,
    invalid_fields: Collection[str],
    previous: KnownChild | None = None,
) -> KnownChild:
    """The index record after seeing ``child`` as ``child_key``.

    Names, postcodes and URNs seen are added to those already known (de-duplicated, earliest
    first). Single-valued fields (date of birth, NHS number, UPN) keep the value already known:
    one event's typo must not overwrite it, and correcting it is a person's decision.

    Other names are not kept: they may be middle names, aliases or former surnames, and kept as
    given names they would count as exact matches. Callers should only merge a ``possible`` match
    into a record once a person has confirmed it.
    """
    if previous is not None and previous.child_key != child_key:
        raise ValueError("the previous record belongs to another child key")
    before = previous or KnownChild(child_key, (), (), None, ())
    return KnownChild(
        child_key=child_key,
        given_names=_merged(
            before.given_names, _name(child.given_name, "given_name", invalid_fields)
        ),
        family_names=_merged(
            before.family_names, _name(child.family_name, "family_name", invalid_fields)
        ),
        date_of_birth=before.date_of_birth or _date_of_birth(child, invalid_fields),
        postcodes=_merged(before.postcodes, _postcode(child, invalid_fields)),
        nhs_number=before.nhs_number or _nhs_number(child, invalid_fields),
        unique_pupil_number=(
            before.unique_pupil_number or _unique_pupil_number(child, invalid_fields)
        ),
        school_urns=_merged(before.school_urns, _school_urn(child, invalid_fields)),
    )


# ---------------------------------------------------------------------------------------------
# Name comparison.


class _Given(IntEnum):
    """How a given name agrees; higher is stronger."""

    DIFFERS = 0
    TYPO = 1
    NICKNAME = 2  # a known nickname or spelling variant, or one name part of the other
    EQUAL = 3
    MISSING = -1  # nothing to compare on one side


class _Family(IntEnum):
    """How a family name agrees; higher is stronger."""

    DIFFERS = 0
    TYPO = 1
    PART = 2  # a shared part of a hyphenated or double-barrelled name
    EQUAL = 3
    MISSING = -1


# Full names (with their spelling variants) and the nicknames of each. Small on purpose: a
# nickname is only ever evidence for a "possible" match. A nickname may belong to several names
# (Sam: Samuel, Samantha); two full names are never related through a shared nickname.
_NICKNAMES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("alfred",), ("alfie", "alf", "fred", "freddie", "freddy")),
    (("frederick", "frederic"), ("fred", "freddie", "freddy")),
    (("william",), ("will", "bill", "billy", "willie", "willy", "liam")),
    (
        ("katherine", "catherine", "katharine", "kathryn", "catharine"),
        ("kate", "katie", "katy", "kat", "cathy", "kathy", "kitty"),
    ),
    (("thomas",), ("tom", "tommy")),
    (("elizabeth", "elisabeth"), ("lizzie", "lizzy", "liz", "beth", "betty", "eliza", "libby")),
    (("samuel",), ("sam", "sammy")),
    (("samantha",), ("sam", "sammy")),
    (("john", "jon"), ("jack", "johnny", "jonny")),
    (("jonathan",), ("jon", "jonny")),
    (("henry",), ("harry", "hal")),
    (("harold",), ("harry",)),
    (("oliver",), ("ollie", "olly", "oli")),
    (("madison",), ("maddie", "maddy")),
    (("madeleine", "madeline", "madelyn"), ("maddie", "maddy")),
    (("alexander",), ("alex", "xander")),
    (("alexandra",), ("alex", "lexi")),
    (("charles",), ("charlie",)),
    (("charlotte",), ("charlie", "lottie")),
    (("james",), ("jim", "jimmy", "jamie")),
    (("robert",), ("rob", "robbie", "bob", "bobby")),
    (("edward",), ("ed", "eddie", "ted", "teddy")),
    (("theodore",), ("theo", "teddy")),
    (("benjamin",), ("ben", "benny")),
    (("daniel",), ("dan", "danny")),
    (("joseph",), ("joe", "joey")),
    (("joshua",), ("josh",)),
    (("jacob",), ("jake",)),
    (("isabella", "isabel", "isabelle"), ("izzy", "issy", "bella")),
    (("sophia", "sofia"), ("sophie",)),
    (("eleanor", "elinor"), ("ellie", "nell", "nellie")),
    (("rebecca",), ("becky", "becca")),
    (("abigail",), ("abi", "abby", "abbie")),
    (("mohammed", "muhammad", "mohammad", "mohamed"), ()),
)


def _name_groups() -> dict[str, frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for group, (full_names, nicknames) in enumerate(_NICKNAMES):
        for name in (*full_names, *nicknames):
            groups.setdefault(name, set()).add(group)
    return {name: frozenset(found) for name, found in groups.items()}


_GROUPS = _name_groups()


def _nicknames_related(first: str, second: str) -> bool:
    # Related only within one group: Sam is Samuel's and Samantha's, but Samuel is not Samantha.
    return bool(_GROUPS.get(first, frozenset()) & _GROUPS.get(second, frozenset()))


def _edit_distance(first: str, second: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    adjacent letters, the usual typing slips. Symmetric, unlike difflib's ratio."""
    before_previous: list[int] = []
    previous = list(range(len(second) + 1))
    for i, first_char in enumerate(first, start=1):
        current = [i] + [0] * len(second)
        for j, second_char in enumerate(second, start=1):
            cost = 0 if first_char == second_char else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and first_char == second[j - 2] and first[i - 2] == second_char:
                current[j] = min(current[j], before_previous[j - 2] + 1)
        before_previous, previous = previous, current
    return previous[-1]


def _same_start(first: str, second: str) -> int:
    """How many leading letters two names share."""
    return next(
        (i for i, (one, other) in enumerate(zip(first, second, strict=False)) if one != other),
        min(len(first), len(second)),
    )


def _is_typo(first: str, second: str, *, given_name: bool) -> bool:
    """Whether two normalised names are one typing slip apart (two in a name of 8 letters or
    more, but one if it has several parts).

    Not typos, because they are how siblings, and twins above all, are named: names under four
    letters ("Ava"/"Eva"), a different first letter ("Mason"/"Jason") and, for given names, a
    difference only in the last two letters ("Louis"/"Louise", "Alexander"/"Alexandra",
    "Antonio"/"Antonia"). The price: a slip in the last two letters of a given name is missed.
    """
    short_first, short_second = _compact(first), _compact(second)
    if short_first == short_second or not short_first or not short_second:
        return False
    if short_first[0] != short_second[0]:
        return False
    shortest = min(len(short_first), len(short_second))
    several_parts = " " in first or " " in second
    allowed = 0 if shortest < 4 else 1 if shortest < 8 or several_parts else 2
    if abs(len(short_first) - len(short_second)) > allowed:
        return False
    longest = max(len(short_first), len(short_second))
    if given_name and _same_start(short_first, short_second) >= longest - 2:
        return False
    return _edit_distance(short_first, short_second) <= allowed


# Particles are shared by unrelated family names ("de Souza", "de Silva"), so they are no overlap.
_PARTICLES = frozenset(
    {"de", "da", "di", "del", "della", "dos", "das", "du", "la", "le", "van", "von", "der", "den"}
    | {"el", "al", "bin", "binti", "ben", "ap", "mac", "mc", "o", "st"}
)


def _significant_parts(name: str) -> frozenset[str]:
    return frozenset(name.split()) - _PARTICLES


def _compare_given(first: str, second: str) -> _Given:
    if _compact(first) == _compact(second):
        return _Given.EQUAL
    first_parts, second_parts = set(first.split()), set(second.split())
    # "Mary" for "Mary Jane" is one part of the name; "Mary Kate" and "Mary Jane" are twins.
    if first_parts < second_parts or second_parts < first_parts:
        return _Given.NICKNAME
    if _nicknames_related(_compact(first), _compact(second)):
        return _Given.NICKNAME
    if _is_typo(first, second, given_name=True):
        return _Given.TYPO
    return _Given.DIFFERS


def _compare_family(first: str, second: str) -> _Family:
    if _compact(first) == _compact(second):
        return _Family.EQUAL
    if _significant_parts(first) & _significant_parts(second):
        return _Family.PART
    if _is_typo(first, second, given_name=False):
        return _Family.TYPO
    return _Family.DIFFERS


@dataclass(frozen=True)
class _Probe:
    """The child's usable fields, normalised and checked once: every candidate is compared with
    these. A new child is compared with every child filed under its date of birth and its
    transposition (about 80 in a county's index); working these out again for each (an NHS
    number's check digit among them) was about a fifth of identifying it."""

    born: date | None
    born_transposed: date | None
    given: str | None
    other_names: tuple[str, ...]
    family: str | None
    postcode: str | None
    school: str | None
    nhs_number: str | None
    unique_pupil_number: str | None


def _probe(child: Child, invalid_fields: Collection[str]) -> _Probe:
    born = _date_of_birth(child, invalid_fields)
    return _Probe(
        born=born,
        born_transposed=_transposed(born) if born is not None else None,
        given=_name(child.given_name, "given_name", invalid_fields),
        other_names=tuple(_other_names(child, invalid_fields)),
        family=_name(child.family_name, "family_name", invalid_fields),
        postcode=_postcode(child, invalid_fields),
        school=_school_urn(child, invalid_fields),
        nhs_number=_nhs_number(child, invalid_fields),
        unique_pupil_number=_unique_pupil_number(child, invalid_fields),
    )


def _given_agreement(probe: _Probe, candidate: KnownChild) -> tuple[_Given, bool]:
    """The best agreement of the child's given name with any known form, and whether it came
    only through one of the child's other names (which then counts as a nickname at most)."""
    known = [name for name in map(normalise_name, candidate.given_names) if name]
    if not known:
        return _Given.MISSING, False
    best = _Given.MISSING
    if probe.given is not None:
        best = max(_compare_given(probe.given, name) for name in known)
    if best < _Given.NICKNAME:
        for other in probe.other_names:
            for part in {other, *other.split()}:
                if any(_compare_given(part, name) >= _Given.NICKNAME for name in known):
                    return _Given.NICKNAME, True
    return best, False


def _family_agreement(probe: _Probe, candidate: KnownChild) -> _Family:
    known = [name for name in map(normalise_name, candidate.family_names) if name]
    if probe.family is None or not known:
        return _Family.MISSING
    return max(_compare_family(probe.family, name) for name in known)


# ---------------------------------------------------------------------------------------------
# Scoring.

_FAMILY_COLUMNS = (_Family.EQUAL, _Family.PART, _Family.TYPO, _Family.MISSING, _Family.DIFFERS)
_BASE: dict[_Given, tuple[float, float, float, float, float]] = {
    # family name:  equal  part   typo   missing differs
    _Given.EQUAL: (0.90, 0.84, 0.84, 0.78, 0.74),
    _Given.NICKNAME: (0.82, 0.76, 0.76, 0.70, 0.62),
    _Given.TYPO: (0.80, 0.74, 0.72, 0.64, 0.58),
    _Given.MISSING: (0.66, 0.60, 0.60, 0.20, 0.20),
    _Given.DIFFERS: (0.30, 0.25, 0.25, 0.20, 0.10),
}
_TRANSPOSED_DOB = -0.10
_SAME_POSTCODE = 0.05
_OTHER_POSTCODE = -0.05
_SAME_SCHOOL = 0.05
_CONFLICTING_IDENTIFIER = -0.20

_GIVEN_EVIDENCE = {
    _Given.EQUAL: "given name",
    _Given.NICKNAME: "given name (nickname or variant)",
    _Given.TYPO: "given name (typo)",
}
_FAMILY_EVIDENCE = {
    _Family.EQUAL: "family name",
    _Family.PART: "family name (part)",
    _Family.TYPO: "family name (typo)",
}


# Not frozen: one is made for every candidate, and a frozen dataclass's __init__ sets each field
# through object.__setattr__.
@dataclass(slots=True)
class _Assessment:
    """A candidate's score and the evidence behind it.

    The reason is written from the evidence only when it is read: of all the candidates assessed
    for a child, only the best one's reason is ever used.
    """

    score: float
    #: Why nothing was compared (no date of birth on one side, or a different one): score 0.
    not_compared: str | None = None
    given: _Given = _Given.MISSING
    via_other_name: bool = False
    family: _Family = _Family.MISSING
    transposed: bool = False
    #: True when the postcode is one seen, False when it differs from all, None when not compared.
    same_postcode: bool | None = None
    same_school: bool = False
    conflicts: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        if self.not_compared is not None:
            return self.not_compared
        agrees: list[str] = []
        differs: list[str] = []
        if self.via_other_name:
            agrees.append("other name")
        elif self.given in _GIVEN_EVIDENCE:
            agrees.append(_GIVEN_EVIDENCE[self.given])
        elif self.given is _Given.DIFFERS:
            differs.append("given name")
        if self.family in _FAMILY_EVIDENCE:
            agrees.append(_FAMILY_EVIDENCE[self.family])
        elif self.family is _Family.DIFFERS:
            differs.append("family name")
        if self.transposed:
            agrees.append("date of birth (day and month transposed)")
        else:
            agrees.append("date of birth")
        if self.same_postcode is True:
            agrees.append("postcode")
        if self.same_school:
            agrees.append("school")
        if self.same_postcode is False:
            differs.append("postcode")
        differs += self.conflicts
        reason = _listed(agrees)
        if differs:
            reason += f"; {_listed(differs)} {'differ' if len(differs) > 1 else 'differs'}"
        return f"{reason} ({self.score:.2f})"


def _listed(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _same_postcode(probe: _Probe, candidate: KnownChild) -> bool | None:
    """Postcode: corroboration, not identification, so only a small adjustment either way."""
    if probe.postcode is None or not candidate.postcodes:
        return None
    return any(normalise_postcode(seen) == probe.postcode for seen in candidate.postcodes)


def _conflicting_identifiers(probe: _Probe, candidate: KnownChild) -> tuple[str, ...]:
    # Two different NHS numbers (or UPNs) are two people, or a recording error a person must see.
    return tuple(
        label
        for label, mine, theirs in (
            ("NHS number", probe.nhs_number, candidate.nhs_number),
            ("UPN", probe.unique_pupil_number, candidate.unique_pupil_number),
        )
        if mine is not None and theirs is not None and mine != theirs
    )


def _assess(probe: _Probe, candidate: KnownChild) -> _Assessment:
    born = probe.born
    if born is None or candidate.date_of_birth is None:
        return _Assessment(0.0, not_compared="no date of birth to compare")
    transposed = born != candidate.date_of_birth
    if transposed and probe.born_transposed != candidate.date_of_birth:
        return _Assessment(0.0, not_compared="date of birth differs")

    given, via_other_name = _given_agreement(probe, candidate)
    family = _family_agreement(probe, candidate)
    value = _BASE[given][_FAMILY_COLUMNS.index(family)]
    if transposed:
        value += _TRANSPOSED_DOB
    # Summed apart, then added: the same floating-point steps, so the same rounded score.
    adjustment = 0.0
    same_postcode = _same_postcode(probe, candidate)
    if same_postcode is not None:
        adjustment += _SAME_POSTCODE if same_postcode else _OTHER_POSTCODE
    # A different school is no evidence: children change school.
    same_school = probe.school is not None and probe.school in candidate.school_urns
    if same_school:
        adjustment += _SAME_SCHOOL
    value += adjustment
    conflicts = _conflicting_identifiers(probe, candidate)
    if conflicts:
        value += _CONFLICTING_IDENTIFIER

    value = min(max(value, 0.0), 1.0)
    may_confirm = (
        given is _Given.EQUAL
        and not via_other_name
        and not transposed
        and family in (_Family.EQUAL, _Family.PART, _Family.TYPO)
        and not conflicts
    )
    if not may_confirm:
        value = min(value, POSSIBLE_CEILING)
    return _Assessment(
        round(value, 3),
        given=given,
        via_other_name=via_other_name,
        family=family,
        transposed=transposed,
        same_postcode=same_postcode,
        same_school=same_school,
        conflicts=conflicts,
    )


def score(child: Child, candidate: KnownChild, invalid_fields: Collection[str]) -> float:
    """How likely ``child`` is the known ``candidate``, in [0, 1] (see the module docstring)."""
    return _assess(_probe(child, invalid_fields), candidate).score


_IDENTIFIER_NAMES = {"nhs": "NHS number", "upn": "unique pupil number", "ref": "partner reference"}


def resolve(
    child: Child,
    *,
    exact_matches: Sequence[tuple[str, str]],
    candidates: Iterable[KnownChild],
    new_key: str,
    invalid_fields: Collection[str] = (),
) -> Match:
    """Link ``child`` to a child key.

    ``exact_matches`` holds ``(identifier_key, child_key)`` for each key of
    :func:`exact_identifiers` found in the index, in the same priority order: the first wins,
    ``confirmed`` with score 1.0. ``candidates`` are the records filed under
    :func:`candidate_keys` (duplicates are fine). Otherwise the best-scoring candidate is
    ``confirmed`` or ``possible`` by the thresholds, or the child is ``new`` with ``new_key``.
    """
    if exact_matches:
        identifier, child_key = exact_matches[0]
        reason = _IDENTIFIER_NAMES.get(identifier.split(":", 1)[0], "exact identifier")
        if any(other != child_key for _, other in exact_matches[1:]):
            # The first identifier still wins (priority order), but two keys for one child is
            # a duplicate record or a wrong identifier, and someone should look.
            reason += "; another identifier points to another child key"
        return Match(MatchKind.CONFIRMED, child_key, 1.0, reason)

    if not candidate_keys(child, invalid_fields):
        unborn = child.date_of_birth is None and child.expected_date_of_delivery is not None
        why = "unborn child" if unborn else "no usable date of birth"
        return Match(MatchKind.NEW, new_key, 0.0, f"no exact identifier; {why}")

    probe = _probe(child, invalid_fields)
    assessed: dict[str, _Assessment] = {}
    for candidate in candidates:
        if candidate.child_key == new_key:
            continue
        assessment = _assess(probe, candidate)
        kept = assessed.get(candidate.child_key)
        if kept is None or assessment.score > kept.score:
            assessed[candidate.child_key] = assessment
    if not assessed:
        return Match(MatchKind.NEW, new_key, 0.0, "no exact identifier; no candidate")

    # Highest score first; the key breaks ties so the answer does not depend on index order.
    ranked = sorted(assessed.items(), key=lambda item: (-item[1].score, item[0]))
    best_key, best = ranked[0]
    if best.score < POSSIBLE_THRESHOLD:
        return Match(
            MatchKind.NEW,
            new_key,
            best.score,
            f"no candidate reached {POSSIBLE_THRESHOLD:.2f} (best {best.score:.2f})",
        )
    rivals = [
        key
        for key, other in ranked[1:]
        if other.score >= POSSIBLE_THRESHOLD and round(best.score - other.score, 3) <= TIE_MARGIN
    ]
    if rivals:
        return Match(
            MatchKind.POSSIBLE,
            best_key,
            best.score,
            f"several candidates ({len(rivals) + 1}): {best.reason}",
        )
    kind = MatchKind.CONFIRMED if best.score >= CONFIRM_THRESHOLD else MatchKind.POSSIBLE
    return Match(kind, best_key, best.score, best.reason)
