// chainops console: progressive enhancement only. Pages are complete without this file;
// it localises times, draws the charts (uPlot) and holds a live refresh while a form in
// the refreshed part is being filled in. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";

  function localiseTimes(root) {
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });
    } catch (e) {
      return;
    }
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        el.textContent = fmt.format(d);
        el.title = el.getAttribute("datetime");
      }
    });
  }

  function cssVar(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name);
    return (v && v.trim()) || fallback;
  }

  function drawChart(fig) {
    if (fig.dataset.drawn || typeof uPlot === "undefined") return;
    fig.dataset.drawn = "1";
    fetch(fig.dataset.chart, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (j) {
        var pts = (j && j.points) || [];
        fig.dataset.points = String(pts.length);
        if (pts.length === 0) {
          var p = document.createElement("p");
          p.className = "muted";
          p.textContent = fig.dataset.empty || "";
          fig.appendChild(p);
          return;
        }
        var xs = pts.map(function (p) { return p.t / 1000; });
        var ys = pts.map(function (p) { return p.v; });
        var width = Math.max(240, fig.clientWidth - 8);
        var stroke = cssVar("--accent", "#2563eb");
        var axis = { stroke: cssVar("--fg", "#111"), grid: { stroke: cssVar("--grid", "#ddd") } };
        new uPlot({
          width: width,
          height: 160,
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true } },
          axes: [axis, axis],
          series: [{}, { stroke: stroke, width: 1.5, points: { show: pts.length < 60 } }]
        }, [xs, ys], fig);
      })
      .catch(function (status) {
        fig.dataset.points = "0";
        fig.dataset.error = String(status);
      });
  }

  function enhance(root) {
    localiseTimes(root);
    root.querySelectorAll("[data-chart]").forEach(drawChart);
  }

  // A file picked for the audit form is read into its text box (and names it).
  function fileFill(input) {
    input.addEventListener("change", function () {
      var f = input.files && input.files[0];
      if (!f) return;
      var reader = new FileReader();
      reader.onload = function () {
        var target = document.getElementById(input.dataset.fill);
        if (target) target.value = String(reader.result || "");
        var name = document.getElementById(input.dataset.name);
        if (name) name.value = f.name;
      };
      reader.readAsText(f);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    document.querySelectorAll("input[type=file][data-fill]").forEach(fileFill);
  });
  document.addEventListener("htmx:afterSwap", function (e) { enhance(e.detail.elt.parentNode || document); });
  // A refresh would throw away what someone is typing: skip it while a form in the
  // refreshed block is open or focused.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt;
    if (!elt.classList || !elt.classList.contains("hold-while-editing")) return;
    var active = document.activeElement;
    if (elt.querySelector("details[open]") || (active && active !== document.body && elt.contains(active) && active.form)) {
      e.preventDefault();
    }
  });
})();
