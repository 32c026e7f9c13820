/* Small helpers of the status page; everything reads fine without them. */
(function () {
  "use strict";
  // Every time also in the visitor's own zone, when it differs from the page's.
  var formatter;
  var pageZone = document.documentElement.getAttribute("data-zone");
  var visitorZone = "";
  try { visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* older browsers */ }
  var sameZone = function (when) {
    if (!pageZone || !visitorZone) { return false; }
    try {
      var options = { timeZoneName: "longOffset", hour: "numeric" };
      return new Intl.DateTimeFormat("en", Object.assign({ timeZone: pageZone }, options)).format(when) ===
        new Intl.DateTimeFormat("en", Object.assign({ timeZone: visitorZone }, options)).format(when);
    } catch (e) { return false; }
  };
  try {
    formatter = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
  } catch (e) { formatter = null; }
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!formatter || isNaN(when) || sameZone(when)) { return; }
    var local = formatter.format(when);
    el.title = "Your time: " + local;
    var span = document.createElement("span");
    span.className = "local-time";
    span.textContent = " (your time: " + local + ")";
    el.insertAdjacentElement("afterend", span);
  });
  // Groups remember whether the visitor folded them open.
  document.querySelectorAll("details[id^='group-']").forEach(function (details) {
    var key = "statusplatform:" + location.host + ":" + details.id;
    try {
      var saved = localStorage.getItem(key);
      if (saved !== null) { details.open = saved === "open"; }
      details.addEventListener("toggle", function () { localStorage.setItem(key, details.open ? "open" : "closed"); });
    } catch (e) { /* storage may be disabled */ }
  });
  // Escape closes a day's tooltip opened by keyboard focus.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.activeElement && document.activeElement.classList.contains("day")) {
      document.activeElement.blur();
    }
  });
})();
