/* The battle map's charts (ECharts, from our own static files). Data comes from
   <script type="application/json"> blocks written by Django's json_script, and the charts'
   words (in the page's language) from data attributes on #chart-labels: no inline code.
   Tooltips render as rich text on the canvas (renderMode "richText"): ECharts' HTML tooltips
   write style attributes, which the CSP (style-src 'self') refuses. */
(function () {
  "use strict";
  var COLOURS = { red: "#dc3545", yellow: "#ffc107", green: "#198754" };
  var charts = {};

  function labels() {
    var el = document.getElementById("chart-labels");
    var d = el ? el.dataset : {};
    return {
      red: d.red || "红灯", yellow: d.yellow || "黄灯", green: d.green || "绿灯",
      resolution: d.resolution || "解决率", none: d.none || "（未分类）"
    };
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var TOOLTIP = { renderMode: "richText", confine: true };

  function barChart(el, rows, onClick) {
    var words = labels();
    var big = document.body.classList.contains("lobby");
    if (!big && el.dataset.param === "department") {
      // Every department gets its own label: the chart grows with them rather than skipping
      // every other name (CSSOM, which the CSP allows).
      el.style.height = Math.max(320, rows.length * 24 + 60) + "px";
    }
    var chart = charts[el.id] || echarts.init(el);
    charts[el.id] = chart;
    var names = rows.map(function (r) { return r.name || words.none; });
    var fontSize = big ? 16 : 12;
    chart.setOption({
      tooltip: Object.assign({ trigger: "axis", axisPointer: { type: "shadow" } }, TOOLTIP),
      legend: { data: [words.red, words.yellow, words.green], textStyle: { fontSize: fontSize } },
      grid: { left: 8, right: 16, bottom: 8, top: 32, containLabel: true },
      xAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: fontSize } },
      yAxis: {
        type: "category", data: names, inverse: true,
        // interval 0: every bar is named, none skipped to save room.
        axisLabel: { interval: 0, width: big ? 180 : 120, overflow: "truncate", fontSize: fontSize }
      },
      series: ["red", "yellow", "green"].map(function (colour) {
        return {
          name: words[colour], type: "bar", stack: "total", itemStyle: { color: COLOURS[colour] },
          data: rows.map(function (r) { return r[colour]; })
        };
      })
    });
    chart.resize();
    if (onClick) {
      chart.off("click");
      chart.on("click", function (params) {
        var colour = ["red", "yellow", "green"][params.seriesIndex];
        onClick(rows[params.dataIndex], colour);
      });
    }
  }

  function trendChart(el, rows) {
    var words = labels();
    var chart = echarts.init(el);
    charts[el.id] = chart;
    chart.setOption({
      tooltip: Object.assign({ trigger: "axis" }, TOOLTIP),
      legend: { data: [words.red, words.yellow, words.green, words.resolution] },
      grid: { left: 8, right: 16, bottom: 8, top: 32, containLabel: true },
      xAxis: { type: "category", data: rows.map(function (r) { return r.day; }) },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } }],
      series: ["red", "yellow", "green"].map(function (colour) {
        return { name: words[colour], type: "line", itemStyle: { color: COLOURS[colour] }, data: rows.map(function (r) { return r[colour]; }) };
      }).concat([{ name: words.resolution, type: "line", yAxisIndex: 1, data: rows.map(function (r) { return r.resolution_rate; }) }])
    });
  }

  function draw(board) {
    var config = document.getElementById("board-config");
    var listUrl = config ? config.dataset.listUrl : "";
    var openQuery = config ? config.dataset.openQuery : "";
    ["department", "category", "region"].forEach(function (kind) {
      var el = document.getElementById("chart-" + kind);
      if (!el || !board["by_" + kind]) { return; }
      barChart(el, board["by_" + kind], listUrl ? function (row, colour) {
        if (row.key === null) { return; }
        window.location = listUrl + "?" + openQuery + "&" + kind + "=" + row.key + "&colour=" + colour;
      } : null);
    });
  }

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }

  // --- The lobby screen: polls its data, says when the figures are stale or the link is gone.
  var lobby = { takenAt: NaN, offset: 0, staleAfter: 900 };

  function markStale() {
    var stale = isNaN(lobby.takenAt) ||
      (Date.now() + lobby.offset) - lobby.takenAt > lobby.staleAfter * 1000;
    var updated = document.getElementById("lobby-updated");
    var note = document.getElementById("lobby-stale-note");
    if (updated) { updated.classList.toggle("lobby-stale", stale); }
    if (note) { note.hidden = !stale; }
  }

  function learnTimes(takenAt, servedAt) {
    lobby.takenAt = Date.parse(takenAt);
    var served = Date.parse(servedAt);
    // The server's clock, not the screen's: a screen's clock may be hours off.
    lobby.offset = isNaN(served) ? 0 : served - Date.now();
    markStale();
  }

  function linkRevoked() {
    var banner = document.getElementById("lobby-revoked");
    if (banner) { banner.hidden = false; }
    ["lobby-open", "lobby-red", "lobby-yellow", "lobby-green", "lobby-resolution", "lobby-satisfaction"].forEach(function (id) { setText(id, "—"); });
    Object.keys(charts).forEach(function (id) { charts[id].clear(); });
    lobby.takenAt = NaN;
    markStale();
  }

  function refreshLobby(url) {
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 403 || r.status === 404) { linkRevoked(); return null; }
      return r.ok ? r.json() : null;
    }).then(function (board) {
      if (!board || !board.totals) { return; }
      setText("lobby-open", board.totals.open);
      setText("lobby-red", board.totals.red);
      setText("lobby-yellow", board.totals.yellow);
      setText("lobby-green", board.totals.green);
      setText("lobby-resolution", pct(board.rates.year.resolution_rate));
      setText("lobby-satisfaction", pct(board.rates.year.satisfaction_rate));
      setText("lobby-time", board.taken_at.slice(0, 16).replace("T", " "));
      learnTimes(board.taken_at, board.served_at);
      draw(board);
    }).catch(function () { /* keep the last figures; their time turns red when stale */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body;
    var lobbyUrl = body.dataset.lobbyUrl;
    if (lobbyUrl) {
      lobby.staleAfter = parseInt(body.dataset.staleAfter, 10) || 900;
      learnTimes(body.dataset.takenAt, body.dataset.servedAt);
      window.setInterval(function () { refreshLobby(lobbyUrl); }, 60000);
      window.setInterval(markStale, 15000);
      // Reload the whole page twice a day, so that a screen left on for weeks picks up a new
      // release of this script and the page's words.
      window.setTimeout(function () { window.location.reload(); }, 12 * 3600 * 1000);
    }
    var board = readJson("board-data");
    if (!board || !board.totals) { return; }
    draw(board);
    var trend = readJson("trend-data");
    var trendEl = document.getElementById("chart-trend");
    if (trend && trendEl) { trendChart(trendEl, trend); }
    window.addEventListener("resize", function () {
      Object.keys(charts).forEach(function (id) { charts[id].resize(); });
    });
  });
})();
