"""Importing police notifications about children from a force's nightly CSV export.

The export is a CSV file, UTF-8 (a BOM is fine), with a header row. **One row per child**: the rows
that share a ``notification_id`` form one notification, so an incident with two children is two
rows. The incident columns repeat on every row of a notification and must agree; the child columns
describe that row's child. Header names are exact; the order is free; a column may be left out
(all its cells are then blank) except the required ones; an unknown column refuses the whole file,
because a misspelt column would otherwise drop its data without a word.

===================================  ========  ===============================================
column                               required  meaning
===================================  ========  ===============================================
notification_id                      yes       the force's id of the notification; the event id
                                               is derived from the force and this id
police_reference                     no        the force's crime or incident reference
force                                no        blank, or the force the file is imported for
occurred_at                          no        ISO 8601 with an offset,
                                               e.g. 2026-11-24T22:15:00+00:00
reported_at                          no        the same format
location_line1                       no        where it happened
location_town                        no
location_postcode                    no
incident_type                        yes       domestic_abuse, missing_child, child_neglect,
                                               child_exploitation, sexual_offence,
                                               other_child_concern
dash_risk_level                      no        standard, medium, high
dash_score                           no        a whole number: yes answers of 24 on the DASH form
victim_role                          no        mother, father, step_parent, parent_partner,
perpetrator_role                     no        carer, relative, sibling_adult, other, unknown
marac_referral_made                  no        yes, no or blank
circumstances                        no        free text (may span lines inside quotes)
child_given_name                     no        the child's names
child_family_name                    no
child_date_of_birth                  no        YYYY-MM-DD
child_nhs_number                     no
child_school_urn                     no        the school's 6-digit URN
child_school_name                    no
child_present                        no        yes, no or blank: present at the incident
child_present_location               no        where, if present
child_spoken_to                      no        yes, no or blank
child_voice                          no        what the child said
child_injuries                       no
child_relationship_to_perpetrator    no        the same values as perpetrator_role
===================================  ========  ===============================================

Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2,
and a quoted cell that spans several lines is still one row. A row that cannot be used (an unknown
value, a malformed date, a time without an offset, a wrong number of cells...) is rejected with its
number and a reason naming the column; the reason never repeats a cell's value. A notification with
any rejected row is rejected whole, naming the bad rows: a notification published without one of
its children would hide that child. So is a notification too large to send (over 512 KiB,
``schemas.wire.MAX_MESSAGE_BYTES``). Data-quality problems (an NHS number's check digit, a
postcode, a DASH score out of range) are not rejections: the event goes on and the pipeline asks
the force.

:func:`parse_police_csv` (:mod:`.parse`) is pure. :func:`import_police_csv` (:mod:`.importer`)
publishes each usable notification, acknowledged, and remembers its event id in the durable store
only after the broker acknowledged it, so running the same file again (also after a crash or
restart) publishes nothing twice. A crash between the acknowledgement and the store write publishes
that one notification again on the next run, under the same event id, which the pipeline
deduplicates. :class:`ProgressBar` (:mod:`.progress`) shows how far an import has got.
"""

from connectors.police_csv.importer import ImportReport, import_police_csv, read_export
from connectors.police_csv.parse import COLUMNS, parse_police_csv, police_event_id
from connectors.police_csv.progress import ProgressBar

# What code outside the package imports from it.
__all__ = [
    "COLUMNS",
    "ImportReport",
    "ProgressBar",
    "import_police_csv",
    "parse_police_csv",
    "police_event_id",
    "read_export",
]
