// "Add another file": evidence slots are added one at a time, so an empty report is short to
// tab through. The server sees an ordinary Django formset: each new slot is the formset's
// empty form with the next index, and TOTAL_FORMS counts it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-evidence-slots]").forEach(function (slots) {
      var form = slots.closest("form");
      var prefix = slots.dataset.prefix;
      var max = parseInt(slots.dataset.max, 10);
      var total = form.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
      var template = form.querySelector("template[data-evidence-template]");
      var button = form.querySelector("[data-add-evidence]");
      if (!total || !template || !button) return;
      function refresh() {
        button.hidden = parseInt(total.value, 10) >= max;
      }
      button.addEventListener("click", function () {
        var index = parseInt(total.value, 10);
        if (index >= max) return;
        var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
        slots.insertAdjacentHTML("beforeend", html);
        total.value = String(index + 1);
        refresh();
        var added = slots.lastElementChild.querySelector('input[type="file"]');
        if (added) added.focus();
      });
      refresh();
    });
  });
})();
