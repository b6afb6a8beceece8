// The MRP run page's Release form: tick or untick every planned order at once, and the totals of those ticked
// (count and value per kind). The form works without it: the server counts and checks again.
(function () {
  var form = document.getElementById("release-form"); if (!form) return;
  var boxes = form.querySelectorAll('input[name="planned"]'), all = document.getElementById("tick-all");
  function update() {
    var sums = {};
    boxes.forEach(function (b) { if (!b.checked) return; var k = b.dataset.kind; sums[k] = sums[k] || {n: 0, v: 0}; sums[k].n += 1; sums[k].v += parseFloat(b.dataset.value); });
    document.querySelectorAll("[data-ticked-count]").forEach(function (c) { var s = sums[c.dataset.tickedCount]; c.textContent = s ? s.n : "0"; });
    document.querySelectorAll("[data-ticked-value]").forEach(function (c) { var s = sums[c.dataset.tickedValue]; c.textContent = (s ? s.v : 0).toLocaleString(document.documentElement.lang || undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2}); });
  }
  boxes.forEach(function (b) { b.addEventListener("change", update); });
  if (all && boxes.length) { all.hidden = false; all.addEventListener("change", function () { boxes.forEach(function (b) { b.checked = all.checked; }); update(); }); }
  update();
})();
