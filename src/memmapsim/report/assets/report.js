// memmapsim report: zoom for the per-CPU timelines, inlined into the page.
// The timelines are drawn in full by Python (report/html.py); this only re-places their
// bars (data-s / data-e: start and end in seconds) and redraws the time axis for the
// window shown: mouse wheel, drag, the buttons, or #zoom=START,END in the address.
// It sets data-ready on <html> to the number of timelines set up (the browser test reads it).
(function () {
  "use strict";
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { return [lo]; }
    var raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = 10 * mag;
    [1, 2, 2.5, 5, 10].some(function (m) { if (m * mag >= raw) { step = m * mag; return true; } return false; });
    var out = [], t = Math.ceil(lo / step - 1e-9) * step;
    for (; t <= hi + step * 1e-9; t += step) { out.push(t); }
    return out;
  }
  function fmt(v) {
    var a = Math.abs(v);
    if (a === 0) { return "0 s"; }
    if (a < 1e-3) { return (v * 1e6).toFixed(2) + " \u00b5s"; }
    if (a < 1) { return (v * 1e3).toFixed(2) + " ms"; }
    return v.toFixed(2) + " s";
  }
  var NS = "http://www.w3.org/2000/svg";
  var timelines = [];
  function setup(fig) {
    var svg = fig.querySelector("svg"), d = svg.dataset;
    var L = +d.left, W = +d.plotWidth, T = +d.end, top = +d.top, bottom = +d.bottom;
    var bars = svg.querySelectorAll("rect[data-s]"), ticks = svg.querySelector("g.ticks");
    var range = fig.querySelector(".range");
    var view = { a: 0, b: T };
    function x(t) { return L + (t - view.a) / (view.b - view.a) * W; }
    function draw() {
      for (var i = 0; i < bars.length; i++) {
        var r = bars[i], s = +r.dataset.s, en = +r.dataset.e;
        r.setAttribute("x", x(s).toFixed(2));
        r.setAttribute("width", Math.max((en - s) / (view.b - view.a) * W, 0.6).toFixed(2));
      }
      while (ticks.firstChild) { ticks.removeChild(ticks.firstChild); }
      niceTicks(view.a, view.b, 6).forEach(function (t) {
        var line = document.createElementNS(NS, "line"), X = x(t).toFixed(2);
        line.setAttribute("x1", X); line.setAttribute("x2", X);
        line.setAttribute("y1", top); line.setAttribute("y2", bottom);
        var text = document.createElementNS(NS, "text");
        text.setAttribute("x", X); text.setAttribute("y", bottom + 14);
        text.setAttribute("text-anchor", "middle"); text.textContent = fmt(t);
        ticks.appendChild(line); ticks.appendChild(text);
      });
      range.textContent = fmt(view.a) + " \u2013 " + fmt(view.b);
    }
    function zoom(a, b) {
      var span = Math.max(b - a, T * 1e-6);
      a = Math.max(0, Math.min(a, T - span)); view.a = a; view.b = Math.min(T, a + span);
      draw();
    }
    function at(ev) {
      var box = svg.getBoundingClientRect(), k = svg.viewBox.baseVal.width / box.width;
      return view.a + ((ev.clientX - box.left) * k - L) / W * (view.b - view.a);
    }
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var t = at(ev), f = ev.deltaY < 0 ? 0.8 : 1.25;
      zoom(t - (t - view.a) * f, t + (view.b - t) * f);
    }, { passive: false });
    var drag = null;
    svg.addEventListener("pointerdown", function (ev) { drag = { t: at(ev), a: view.a, b: view.b }; });
    window.addEventListener("pointerup", function () { drag = null; });
    svg.addEventListener("pointermove", function (ev) {
      if (!drag) { return; }
      var dt = drag.t - at(ev);
      zoom(view.a + dt, view.b + dt);
    });
    fig.querySelector("button.in").addEventListener("click", function () {
      var m = (view.a + view.b) / 2, h = (view.b - view.a) / 4; zoom(m - h, m + h); });
    fig.querySelector("button.out").addEventListener("click", function () {
      var m = (view.a + view.b) / 2, h = (view.b - view.a); zoom(m - h, m + h); });
    fig.querySelector("button.reset").addEventListener("click", function () { zoom(0, T); });
    timelines.push(zoom);
    draw();
  }
  document.querySelectorAll("figure.timeline").forEach(setup);
  var m = /zoom=([0-9.eE+-]+),([0-9.eE+-]+)/.exec(window.location.hash);
  if (m && +m[2] > +m[1]) { timelines.forEach(function (z) { z(+m[1], +m[2]); }); }
  document.documentElement.setAttribute("data-ready", String(timelines.length));
})();
