/* Status notice: one <script src=".../embed.js" async></script> shows a small, dismissible notice
   while the page has an unresolved incident or maintenance in progress. */
(function () {
  "use strict";
  // The page is wherever this script was loaded from (its custom domain, its port).
  var PAGE = {{ page_url | tojson }};
  try { if (document.currentScript && document.currentScript.src) { PAGE = new URL(document.currentScript.src).origin; } } catch (e) {}
  var SUMMARY = PAGE + "/api/v2/summary.json";
  var KEY = "statusplatform-dismissed:" + PAGE;
  function dismissed() { try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; } }
  function remember(id) { try { var d = dismissed(); d.push(id); localStorage.setItem(KEY, JSON.stringify(d.slice(-20))); } catch (e) {} }
  function show(item, kind) {
    var token = item.id + ":" + item.updated_at;
    if (dismissed().indexOf(token) !== -1) { return; }
    var box = document.createElement("div");
    box.setAttribute("role", "status");
    box.style.cssText = "position:fixed;z-index:2147483000;bottom:16px;right:16px;max-width:340px;background:#fff;color:#1f2933;" +
      "border:1px solid #d9e2ec;border-left:6px solid " + (kind === "maintenance" ? "#1565c0" : "#c25e00") + ";" +
      "border-radius:6px;box-shadow:0 4px 16px rgba(0,0,0,.15);padding:12px 36px 12px 14px;font:14px/1.4 system-ui,sans-serif";
    var title = document.createElement("a");
    title.href = PAGE + "/incidents/" + encodeURIComponent(item.id);
    title.target = "_blank";
    title.rel = "noopener";
    title.style.cssText = "color:inherit;font-weight:600;text-decoration:underline";
    title.textContent = item.name;
    var text = document.createElement("div");
    var update = item.incident_updates && item.incident_updates[0];
    text.textContent = kind === "maintenance" ? "Maintenance in progress" : (update ? update.status.charAt(0).toUpperCase() + update.status.slice(1) : "Incident");
    var close = document.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    close.style.cssText = "position:absolute;top:6px;right:8px;border:0;background:none;font-size:20px;cursor:pointer;color:#52606d";
    close.onclick = function () { remember(token); box.remove(); };
    box.appendChild(title); box.appendChild(text); box.appendChild(close);
    document.body.appendChild(box);
  }
  function run() {
    fetch(SUMMARY, { credentials: "omit" }).then(function (r) { return r.json(); }).then(function (summary) {
      (summary.incidents || []).slice(0, 1).forEach(function (i) { show(i, "incident"); });
      (summary.scheduled_maintenances || []).filter(function (m) { return m.status === "in_progress" || m.status === "verifying"; })
        .slice(0, 1).forEach(function (m) { show(m, "maintenance"); });
    }).catch(function () {});
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", run); } else { run(); }
})();
