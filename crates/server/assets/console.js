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

  // Line colours of a chart with several lines (one per RPC method, …).
  var PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }

  // data-chart holds one series URL, or several separated by spaces (then data-labels names
  // each line and the lines are joined on one time axis).
  function drawChart(fig) {
    if (fig.dataset.drawn || typeof uPlot === "undefined") return;
    fig.dataset.drawn = "1";
    var urls = fig.dataset.chart.split(" ").filter(Boolean);
    var labels = (fig.dataset.labels || "").split(" ");
    Promise.all(urls.map(getJson))
      .then(function (answers) {
        var tables = [];
        var names = [];
        var total = 0;
        answers.forEach(function (j, i) {
          var pts = (j && j.points) || [];
          if (pts.length === 0) return;
          total += pts.length;
          tables.push([pts.map(function (p) { return p.t / 1000; }), pts.map(function (p) { return p.v; })]);
          names.push(labels[i] || String(i + 1));
        });
        fig.dataset.points = String(total);
        if (total === 0) {
          var p = document.createElement("p");
          p.className = "muted";
          p.textContent = fig.dataset.empty || "";
          fig.appendChild(p);
          return;
        }
        var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
        var width = Math.max(240, fig.clientWidth - 8);
        var axis = { stroke: cssVar("--fg", "#111"), grid: { stroke: cssVar("--grid", "#ddd") } };
        var several = tables.length > 1;
        var series = [{}];
        names.forEach(function (n, i) {
          series.push({
            label: n,
            stroke: several ? PALETTE[i % PALETTE.length] : cssVar("--accent", "#2563eb"),
            width: 1.5,
            spanGaps: true,
            points: { show: total < 60 * tables.length }
          });
        });
        new uPlot({
          width: width,
          height: several ? 220 : 160,
          legend: { show: several },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true } },
          axes: [axis, axis],
          series: series
        }, data, fig);
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
