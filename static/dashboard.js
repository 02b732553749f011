// Draws every [data-chart] element from the JSON block it names, and redraws in place
// whenever htmx swaps in fresh data. No inline scripts, so the page's CSP can forbid them.
(function () {
  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      Plotly.react(el, figure.data, figure.layout, { displaylogo: false, responsive: true });
      el.dataset.drawn = String(Number(el.dataset.drawn || 0) + 1);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) {
    draw(e.detail.target.id === "chart-data" ? document : e.detail.target);
  });
})();
