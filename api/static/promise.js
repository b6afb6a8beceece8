// The quotation form's live promise (capable to promise): as lines are typed, each line shows when it can ship,
// from what, and what holds it up, asked of POST /api/planning/promise with the session the page was opened in.
// The words come from the page (<template id="promise-words">, in the reader's language). Without JavaScript the
// form works as before; the quotation page shows the promises it was created with.
(function () {
  "use strict";
  var form = document.querySelector("form[data-promise]");
  var words = document.getElementById("promise-words");
  if (!form || !words || !window.fetch) { return; }
  var url = form.getAttribute("data-promise");
  var w = words.dataset;
  var timer = null;
  var asked = 0;

  function plain(text) {
    // What a person types (1,250.5 or full-width digits) as the plain decimal the API takes; null if it is not one.
    var t = String(text || "").trim().replace(/[\uFF10-\uFF19]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xFF10 + 48);
    }).replace(/\uFF0E/g, ".").replace(/[,\uFF0C\s]/g, "");
    return /^\d+(\.\d{1,4})?$/.test(t) && Number(t) > 0 ? t : null;
  }

  function fill(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (_, name) {
      return values[name] === undefined || values[name] === null ? "" : String(values[name]);
    });
  }

  function why(c, sentence) {
    if (!c) { return sentence || ""; }
    var template = w["why" + c.why.charAt(0).toUpperCase() + c.why.slice(1)];  // data-why-no_bom: whyNo_bom
    return template ? fill(template, {sku: c.sku, reference: c.reference, due: c.due, days: c.days,
                                      work_centre: c.reference}) : sentence;
  }

  function rows() {
    return Array.prototype.slice.call(form.querySelectorAll("table.quote-lines tbody tr"));
  }

  function show(out, line) {
    out.textContent = "";
    if (!line) { return; }
    var when = document.createElement("span");
    when.className = "promise-date" + (line.late ? " over-text" : "");
    when.textContent = line.promise_date;
    out.appendChild(when);
    if (line.late) {
      var badge = document.createElement("span");
      badge.className = "badge s-alert";
      badge.textContent = w.late;
      out.appendChild(document.createTextNode(" "));
      out.appendChild(badge);
    }
    var because = document.createElement("span");
    because.className = "muted small promise-why";
    because.textContent = (w[line.basis] || line.basis) + " · " + why(line.constraint, line.constrained_by);
    out.appendChild(document.createElement("br"));
    out.appendChild(because);
  }

  function ask() {
    var lines = [], outs = [];
    rows().forEach(function (tr) {
      var out = tr.querySelector("output.promise-out");
      var sku = (tr.querySelector("input[name=sku]") || {}).value;
      var qty = plain((tr.querySelector("input[name=qty]") || {}).value);
      if (!out) { return; }
      if (sku && sku.trim() && qty) {
        lines.push({sku: sku.trim(), qty: qty});
        outs.push(out);
      } else {
        out.textContent = "";
      }
    });
    if (!lines.length) { return; }
    var body = {lines: lines};
    var requested = (form.querySelector("input[name=requested_date]") || {}).value;
    if (requested) { body.requested_date = requested; }
    var mine = ++asked;
    outs.forEach(function (out) { out.textContent = w.working; });
    fetch(url, {method: "POST", credentials: "same-origin",
                headers: {"Content-Type": "application/json", "Accept": "application/json"},
                body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
      .then(function (res) {
        if (mine !== asked) { return; }  // a later question is on its way
        if (!res.ok) {
          // One unknown SKU or bad quantity would refuse them all: ask line by line, so each shows what it can.
          if (lines.length > 1) { one(lines, outs, requested, mine); return; }
          outs[0].textContent = typeof res.data.detail === "string" ? res.data.detail : "";
          return;
        }
        res.data.lines.forEach(function (line, i) { show(outs[i], line); });
      })
      .catch(function () { outs.forEach(function (out) { out.textContent = ""; }); });
  }

  function one(lines, outs, requested, mine) {
    lines.forEach(function (line, i) {
      var body = {lines: [line]};
      if (requested) { body.requested_date = requested; }
      fetch(url, {method: "POST", credentials: "same-origin",
                  headers: {"Content-Type": "application/json", "Accept": "application/json"},
                  body: JSON.stringify(body)})
        .then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
        .then(function (res) {
          if (mine !== asked) { return; }
          if (res.ok) { show(outs[i], res.data.lines[0]); }
          else { outs[i].textContent = typeof res.data.detail === "string" ? res.data.detail : ""; }
        });
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(ask, 350);
  }

  form.addEventListener("input", function (e) {
    var name = e.target && e.target.name;
    if (name === "sku" || name === "qty" || name === "requested_date") { later(); }
  });
  form.addEventListener("change", later);
  ask();
})();
