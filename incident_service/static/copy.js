/* Copy a draft report to the clipboard, put it into a filing's text field, or print the page. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var area = document.getElementById(copy.dataset.copy);
      var done = function () {
        var before = copy.textContent;
        copy.textContent = copy.dataset.copied || "Copied";
        setTimeout(function () { copy.textContent = before; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(area.value).then(done, function () { area.select(); document.execCommand("copy"); done(); });
      } else {
        area.select(); document.execCommand("copy"); done();
      }
      return;
    }
    if (event.target.closest("[data-print]")) { window.print(); return; }
    var fill = event.target.closest("[data-fill-draft]");
    if (fill) {
      var source = document.getElementById(fill.dataset.fillDraft);
      var target = document.getElementById(fill.dataset.target);
      if (source && target) { target.value = source.value; target.focus(); }
    }
  });
})();
