// The CSV import's progress bar: asks the server how far the import is twice a second, moves the bar and the
// count, and reloads the page when the import has ended (the page then says how). No inline script: CSP allows
// this file only on the page of a running import.
(function () {
  "use strict";
  var bar = document.getElementById("import-progress");
  if (!bar) { return; }
  var count = document.getElementById("import-count");
  var url = bar.getAttribute("data-poll");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (p) {
        bar.max = Math.max(p.total, 1);
        bar.value = p.done;
        if (count) { count.textContent = p.text; }
        if (p.status === "running") { window.setTimeout(poll, 500); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 300);
}());
