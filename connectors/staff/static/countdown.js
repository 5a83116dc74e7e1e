// Keeps each "due in" countdown current without reloading; the server's text stands without it.
(function () {
  "use strict";
  var SOON = 2 * 60 * 60 * 1000;
  function words(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), rest = minutes % 60;
    if (days) return days + " d " + hours + " h";
    if (hours) return hours + " h " + rest + " min";
    return rest + " min";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-due")) - now;
      el.textContent = left < 0 ? "overdue by " + words(left) : "due in " + words(left);
      el.classList.remove("rag-red", "rag-amber", "rag-green");
      el.classList.add(left < 0 ? "rag-red" : left <= SOON ? "rag-amber" : "rag-green");
    });
  }
  setInterval(tick, 30000);
})();
