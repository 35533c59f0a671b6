// The export page (templates/sla/exports.html): after a download link is clicked, keep its
// "正在生成…" note visible until the download starts. The link gets a one-off token (?dl=…);
// the download response sets the cookie export_done=<token> (sla/views/exports.py), which
// arrives with the file's headers: a CSV at once, an Excel file once it has been built.
(function () {
  "use strict";

  var COOKIE = "export_done";
  var GIVE_UP_MS = 5 * 60 * 1000;

  function cookieValue(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return null;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-export-link]");
    if (!link) return;
    var item = link.closest(".export-item");
    var token = Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    var url = new URL(link.href, window.location.href);
    url.searchParams.set("dl", token);
    link.href = url.toString();
    if (item) item.classList.add("is-busy");
    var started = Date.now();
    var timer = window.setInterval(function () {
      if (cookieValue(COOKIE) === token || Date.now() - started > GIVE_UP_MS) {
        window.clearInterval(timer);
        if (item) item.classList.remove("is-busy");
        link.blur();
      }
    }, 500);
  });
})();
