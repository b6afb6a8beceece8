/* The inbox's live refresh: every few seconds the rows (rendered by the server, from the page's own
   template block) and the views' counts are fetched again and swapped in. Without this script the page
   works the same, a reload away. While someone is typing a comment or has ticked rows the rows are
   left alone (only the counts change), so nothing they are doing is lost. */
(function () {
  "use strict";
  var PERIOD = 5000;
  var table = document.querySelector("table.inbox[data-rows-url]");
  var body = document.getElementById("inbox-rows");
  if (!table || !body || !window.fetch) { return; }
  var url = table.getAttribute("data-rows-url");
  var note = document.getElementById("inbox-live");
  var last = body.innerHTML;
  var busy = false;

  function editing() {
    var active = document.activeElement;
    if (active && body.contains(active) && active.tagName !== "A") { return true; }
    var inputs = document.querySelectorAll("#inbox-rows input[name=comment], input[form=bulk]");
    for (var i = 0; i < inputs.length; i++) {
      if ((inputs[i].type === "checkbox" && inputs[i].checked) || (inputs[i].type !== "checkbox" && inputs[i].value)) {
        return true;
      }
    }
    return false;
  }

  function say(text) {
    if (!note) { return; }
    note.textContent = text;
    note.hidden = !text;
  }

  function updateCounts(header) {
    if (!header) { return; }
    var counts;
    try { counts = JSON.parse(header); } catch (e) { return; }
    var spans = document.querySelectorAll("[data-count]");
    for (var i = 0; i < spans.length; i++) {
      var view = spans[i].getAttribute("data-count");
      if (Object.prototype.hasOwnProperty.call(counts, view)) { spans[i].textContent = String(counts[view]); }
    }
    // the menu's badge counts what "all I may see" counts, unfiltered: only an unfiltered list can tell it
    var nav = document.querySelector('.nav a[href="/inbox"] .count');
    if (nav && table.getAttribute("data-unfiltered") === "1" && typeof counts.all === "number") {
      nav.textContent = String(counts.all);
      nav.className = counts.all ? "count has" : "count";
    }
  }

  function refresh() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" }, redirect: "manual" })
      .then(function (r) {
        if (!r.ok) { return null; }
        updateCounts(r.headers.get("X-Inbox-Counts"));
        return r.text();
      })
      .then(function (html) {
        if (html === null || html === last) { return; }
        if (editing()) { say("New changes wait until you finish here."); return; }
        body.innerHTML = html;
        last = html;
        say("Updated " + new Date().toLocaleTimeString());
      })
      .catch(function () { /* offline for a moment: the next round tries again */ })
      .then(function () { busy = false; });
  }

  window.setInterval(refresh, PERIOD);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
}());
