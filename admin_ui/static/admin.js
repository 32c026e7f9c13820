// Small helpers of the admin: Markdown preview, one-click status changes, confirmations, local times.
(function () {
  "use strict";
  var token = function () {
    var input = document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  };

  // Markdown preview beside a textarea, rendered by the server exactly as the page will show it.
  document.querySelectorAll("textarea[data-preview]").forEach(function (area) {
    var target = document.getElementById(area.dataset.preview);
    var url = document.body.dataset.previewUrl;
    if (!target || !url) return;
    var timer = null;
    var render = function () {
      var body = new URLSearchParams({ body: area.value, csrf_token: token() });
      fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": token() } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { target.innerHTML = html || '<p class="muted">Nothing to preview yet.</p>'; });
    };
    area.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(render, 250); });
    if (area.value) render();
  });

  // A select that changes something on its own (a component's status) submits its form at once.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    var button = select.form && select.form.querySelector("button[data-autosubmit-button]");
    if (button) button.hidden = true;
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });

  // Destructive forms ask once, naming what will be lost.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Copy buttons put a shown-once secret on the clipboard.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.textContent.trim()).then(function () { button.textContent = "Copied"; });
    });
  });

  // A template picker fills the form by reloading it with the template chosen.
  document.querySelectorAll("select[data-template-picker]").forEach(function (select) {
    select.addEventListener("change", function () { if (select.value) select.form.submit(); });
  });
})();
