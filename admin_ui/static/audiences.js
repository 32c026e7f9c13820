// Audience helpers of the admin: a group's box ticks its components; a notice spanning audiences is flagged.
(function () {
  "use strict";

  // A group's checkbox stands for all its components: ticking it ticks them, and it shows
  // ticked only while all of them are (half-ticked while some are).
  document.querySelectorAll("input[data-group-box]").forEach(function (box) {
    var children = Array.prototype.slice.call(
      box.form.querySelectorAll("input[data-group]")
    ).filter(function (child) { return child.dataset.group === box.value; });
    if (!children.length) return;
    var sync = function () {
      var ticked = children.filter(function (child) { return child.checked; }).length;
      box.checked = ticked === children.length;
      box.indeterminate = ticked > 0 && ticked < children.length;
    };
    box.addEventListener("change", function () {
      children.forEach(function (child) { child.checked = box.checked; });
      box.indeterminate = false;
    });
    children.forEach(function (child) { child.addEventListener("change", sync); });
    sync();
  });

  // An incident or maintenance naming components of several audiences is read by all of them:
  // its title and messages are shared, only the components each audience sees differ.
  var listed = function (names) {
    if (names.length === 1) return names[0];
    return names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
  };
  document.querySelectorAll("[data-audience-warning]").forEach(function (note) {
    var form = note.closest("form");
    if (!form) return;
    var chosen = function (field) {
      return field.type === "checkbox" ? field.checked : field.value !== "";
    };
    var update = function () {
      var names = [];
      form.querySelectorAll("[data-audiences]").forEach(function (field) {
        if (!chosen(field)) return;
        JSON.parse(field.dataset.audiences).forEach(function (name) {
          if (names.indexOf(name) < 0) names.push(name);
        });
      });
      names.sort();
      if (names.length < 2) {
        note.hidden = true;
        note.textContent = "";
        return;
      }
      var readers = names.length === 2 ? "both audiences" : "all " + names.length + " audiences";
      note.textContent = note.dataset.audienceWarning + " names components of " + listed(names) +
        "; its title and messages are shown to " + readers + ".";
      note.hidden = false;
    };
    form.addEventListener("change", update);
    update();
  });
})();
