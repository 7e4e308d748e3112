// dutydesk dashboard: ticks countdowns and refreshes the queue. Everything works without it.
(function () {
  "use strict";
  function span(ms) {
    var m = Math.floor(Math.abs(ms) / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), r = m % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + r + "m";
    return r ? r + "m" : "<1m";
  }
  // The server's clock decides what is overdue; the browser only counts on from it.
  var offset = 0;
  function sync(root) {
    var mark = root.querySelector("[data-now]");
    if (mark) offset = Date.parse(mark.getAttribute("data-now")) - Date.now();
  }
  function tick(root) {
    var now = Date.now() + offset;
    root.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var left = due - now, words = el.querySelector(".words");
      if (words) words.textContent = left <= 0 ? span(left) + " late" : "in " + span(left);
    });
  }
  function refresh(box) {
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { box.innerHTML = html; sync(box); tick(box); } })
      .catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () {
    sync(document);
    setInterval(function () { tick(document); }, 30000);
    var box = document.getElementById("queue");
    if (box) {
      var seconds = parseInt(box.getAttribute("data-refresh"), 10) || 15;
      setInterval(function () { refresh(box); }, seconds * 1000);
    }
  });
})();
