// The GOV.UK error summary's behaviour: focus moves to the summary when the page opens, so a
// screen reader reads it and a keyboard user starts there; each link moves focus to its field
// and brings the field's label or legend into view with it.
(function () {
  "use strict";
  function labelFor(input) {
    var fieldset = input.closest("fieldset");
    var legend = fieldset && fieldset.querySelector("legend");
    if (legend && input.type !== "text") return legend;
    return document.querySelector('label[for="' + input.id + '"]') || input;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest('a[href^="#"]');
      if (!link) return;
      var input = document.getElementById(decodeURIComponent(link.hash.slice(1)));
      if (!input) return;
      event.preventDefault();
      labelFor(input).scrollIntoView();
      input.focus({ preventScroll: true });
    });
  });
})();
