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
  // Subscribe panel: the channel tabs switch in place (without script they link to the forms' page).
  document.querySelectorAll("[data-tabs]").forEach(function (box) {
    var list = box.querySelector(".tab-list");
    var tabs = Array.prototype.slice.call(box.querySelectorAll(".tab[data-pane]"));
    if (!list || !tabs.length) { return; }
    var paneOf = function (tab) { return document.getElementById(tab.getAttribute("data-pane")); };
    var select = function (chosen, focus) {
      tabs.forEach(function (tab) {
        var on = tab === chosen;
        tab.setAttribute("aria-selected", on ? "true" : "false");
        tab.setAttribute("tabindex", on ? "0" : "-1");
        tab.removeAttribute("aria-current");
        var pane = paneOf(tab);
        if (pane) { pane.hidden = !on; }
      });
      if (focus) { chosen.focus(); }
    };
    list.setAttribute("role", "tablist");
    tabs.forEach(function (tab, index) {
      var pane = paneOf(tab);
      tab.setAttribute("role", "tab");
      tab.parentElement.setAttribute("role", "presentation");
      if (pane) {
        tab.setAttribute("aria-controls", pane.id);
        pane.setAttribute("role", "tabpanel");
        pane.setAttribute("aria-labelledby", tab.id);
      }
      tab.addEventListener("click", function (event) { event.preventDefault(); select(tab, false); });
      tab.addEventListener("keydown", function (event) {
        var step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) { return; }
        event.preventDefault();
        select(tabs[(index + step + tabs.length) % tabs.length], true);
      });
    });
    select(tabs.filter(function (tab) { return tab.getAttribute("aria-current") === "true"; })[0] || tabs[0], false);
  });
  // The header's panel closes with Escape and with a click elsewhere.
  var menu = document.querySelector("details.subscribe-menu");
  if (menu) {
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (menu.open && !menu.contains(event.target)) { menu.open = false; }
    });
  }
  // Copy buttons (a webhook's signing secret): shown only where the clipboard can be written.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = "Copied";
      }, function () {
        button.textContent = "Select and copy";
      });
    });
  });
})();
