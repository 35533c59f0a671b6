/* The battle map's charts (ECharts, from our own static files). Data comes from
   <script type="application/json"> blocks written by Django's json_script: no inline code. */
(function () {
  "use strict";
  var COLOURS = { red: "#dc3545", yellow: "#ffc107", green: "#198754" };
  var LABELS = { red: "红灯", yellow: "黄灯", green: "绿灯" };
  var charts = {};

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function barChart(el, rows, onClick) {
    var chart = charts[el.id] || echarts.init(el);
    charts[el.id] = chart;
    var names = rows.map(function (r) { return r.name || "（未分类）"; });
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: ["红灯", "黄灯", "绿灯"] },
      grid: { left: 8, right: 16, bottom: 8, top: 32, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: names, inverse: true, axisLabel: { width: 120, overflow: "truncate" } },
      series: ["red", "yellow", "green"].map(function (colour) {
        return {
          name: LABELS[colour], type: "bar", stack: "total", itemStyle: { color: COLOURS[colour] },
          data: rows.map(function (r) { return r[colour]; })
        };
      })
    });
    if (onClick) {
      chart.off("click");
      chart.on("click", function (params) {
        var colour = ["red", "yellow", "green"][params.seriesIndex];
        onClick(rows[params.dataIndex], colour);
      });
    }
  }

  function trendChart(el, rows) {
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: ["红灯", "黄灯", "绿灯", "解决率"] },
      grid: { left: 8, right: 16, bottom: 8, top: 32, containLabel: true },
      xAxis: { type: "category", data: rows.map(function (r) { return r.day; }) },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } }],
      series: ["red", "yellow", "green"].map(function (colour) {
        return { name: LABELS[colour], type: "line", itemStyle: { color: COLOURS[colour] }, data: rows.map(function (r) { return r[colour]; }) };
      }).concat([{ name: "解决率", type: "line", yAxisIndex: 1, data: rows.map(function (r) { return r.resolution_rate; }) }])
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

  function refreshLobby(url) {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (board) {
      if (!board.totals) { return; }
      setText("lobby-open", board.totals.open);
      setText("lobby-red", board.totals.red);
      setText("lobby-yellow", board.totals.yellow);
      setText("lobby-green", board.totals.green);
      setText("lobby-resolution", pct(board.rates.year.resolution_rate));
      setText("lobby-satisfaction", pct(board.rates.year.satisfaction_rate));
      setText("lobby-time", board.taken_at.slice(0, 16).replace("T", " "));
      draw(board);
    }).catch(function () { /* keep showing the last figures */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var board = readJson("board-data");
    if (!board || !board.totals) { return; }
    draw(board);
    var trend = readJson("trend-data");
    var trendEl = document.getElementById("chart-trend");
    if (trend && trendEl) { trendChart(trendEl, trend); }
    var lobbyUrl = document.body.dataset.lobbyUrl;
    if (lobbyUrl) { window.setInterval(function () { refreshLobby(lobbyUrl); }, 60000); }
    window.addEventListener("resize", function () {
      Object.keys(charts).forEach(function (id) { charts[id].resize(); });
    });
  });
})();
