// Draws a report page's chart from its JSON (<script id="chart-data">): one series per
// channel or liability, amounts in minor units shown in major units. No animation, so a
// printed page never catches a chart half drawn; redrawn to the paper's width on print.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  var canvas = document.getElementById("report-chart");
  if (!source || !canvas || !window.Chart) { return; }
  var data = JSON.parse(source.textContent);
  var scale = Math.pow(10, data.exponent || 2);
  var palette = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490"];
  var chart = new window.Chart(canvas, {
    type: canvas.dataset.kind || "bar",
    data: {
      labels: data.labels,
      datasets: data.series.map(function (series, index) {
        return {
          label: series.label,
          data: series.values.map(function (value) { return value / scale; }),
          backgroundColor: palette[index % palette.length],
          borderColor: palette[index % palette.length],
          borderWidth: canvas.dataset.kind === "line" ? 2 : 0,
          pointRadius: 0
        };
      })
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: canvas.dataset.kind === "line" ? {} : { x: { stacked: true }, y: { stacked: true } },
      plugins: { legend: { position: "bottom" } }
    }
  });
  window.addEventListener("beforeprint", function () { chart.resize(); });
  window.addEventListener("afterprint", function () { chart.resize(); });
})();
