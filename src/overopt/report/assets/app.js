// overopt report: draws the embedded figures and the sample viewer.
// Untrusted strings (completions, prompts) are only ever assigned with textContent / createTextNode.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("overopt-data").textContent);
  var LABELS = {stock: "stock phrase", hedge: "hedge", apology: "apology", refusal: "refusal",
                agreement: "agreement", rare: "rare-token run"};
  var viewer = document.getElementById("viewer");
  var body = document.getElementById("viewer-body");
  var title = document.getElementById("viewer-title");
  var select = document.getElementById("viewer-select");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function num(x) { return (x === null || x === undefined) ? "\u2013" : Number(x).toFixed(3); }

  // Longer completions are cut for display: laying out a 1 MB line freezes a browser for minutes.
  var MAX_SHOW = 10000;

  function highlighted(full, spans) {
    var box = el("div", "completion");
    var text = full.length > MAX_SHOW ? full.slice(0, MAX_SHOW) : full;
    var pos = 0;
    (spans || []).forEach(function (s) {
      if (s.start < pos || s.end > text.length || s.end <= s.start) { return; }
      if (s.start > pos) { box.appendChild(document.createTextNode(text.slice(pos, s.start))); }
      var m = el("mark", "hl hl-" + (LABELS[s.cat] ? s.cat : "other"), text.slice(s.start, s.end));
      m.title = LABELS[s.cat] || "match";
      box.appendChild(m);
      pos = s.end;
    });
    if (pos < text.length) { box.appendChild(document.createTextNode(text.slice(pos))); }
    if (text.length === 0) { box.appendChild(el("i", "empty", "(empty completion)")); }
    if (full.length > MAX_SHOW) {
      box.appendChild(el("span", "cut", " \u2026 [cut: showing " + MAX_SHOW.toLocaleString("en") + " of " +
                                       full.length.toLocaleString("en") + " characters; the full text is in summary.json]"));
    }
    return box;
  }

  // The viewer is a drawer on the right; the page reflows beside it so no chart or button is covered.
  function setViewer(open) {
    if (viewer.hidden === !open) { return; }
    viewer.hidden = !open;
    document.body.classList.toggle("viewer-open", open);
    Array.prototype.forEach.call(document.querySelectorAll(".plot.js-plotly-plot"), function (d) {
      Plotly.Plots.resize(d);
    });
  }

  function showGroup(key, clicked) {
    var g = DATA.samples[key];
    body.textContent = "";
    setViewer(true);
    if (!g) { title.textContent = "No samples"; body.appendChild(el("p", "absent", "No samples stored for this point.")); return; }
    title.textContent = g.title;
    select.value = key;
    var meta = "KL " + num(g.kl) + " nats \u00b7 " + g.items.length + " completion(s)";
    if (clicked && clicked.note) { meta += " \u00b7 " + clicked.note; }
    body.appendChild(el("p", "meta", meta));
    g.items.forEach(function (it) {
      var card = el("div", "sample");
      var head = el("div", "sample-head");
      head.appendChild(el("span", "score proxy", "proxy " + num(it.proxy)));
      head.appendChild(el("span", "score gold", "gold " + num(it.gold)));
      if (it.kind) { head.appendChild(el("span", "kind", it.kind)); }
      card.appendChild(head);
      card.appendChild(el("div", "prompt", it.prompt));
      card.appendChild(highlighted(it.response, it.spans));
      body.appendChild(card);
    });
    viewer.scrollTop = 0;
  }

  function legend() {
    var box = document.getElementById("viewer-legend");
    Object.keys(LABELS).forEach(function (k) { box.appendChild(el("mark", "hl hl-" + k, LABELS[k])); });
  }

  function fillSelect() {
    var keys = Object.keys(DATA.samples);
    select.appendChild(el("option", "", keys.length ? "\u2014 pick a point \u2014" : "no stored samples")).value = "";
    var groups = {};  // one <optgroup> per curve
    keys.forEach(function (k) {
      var g = DATA.samples[k], label = g.family.toUpperCase() + " \u00b7 " + g.curve;
      if (!groups[label]) { groups[label] = document.createElement("optgroup"); groups[label].label = label;
                            select.appendChild(groups[label]); }
      var o = el("option", "", g.title + " (KL " + num(g.kl) + ")");
      o.value = k;
      groups[label].appendChild(o);
    });
    select.addEventListener("change", function () { if (select.value) { showGroup(select.value); } });
  }

  function plot(f) {
    var div = document.getElementById("fig-" + f.id);
    if (!div) { return Promise.resolve(); }
    var cfg = {responsive: true, displaylogo: false,
               toImageButtonOptions: {format: "svg", filename: "overopt-" + f.id, scale: 1}};
    return Plotly.newPlot(div, f.data, f.layout, cfg).then(function () {
      div.on("plotly_click", function (ev) {
        var p = ev && ev.points && ev.points[0];
        if (!p || !p.customdata) { return; }
        var g = DATA.samples[p.customdata];
        var note = (g && p.data.meta && g.family === "bon" && p.text !== undefined && String(p.text) !== String(g.x))
          ? "clicked n = " + p.text + "; samples are stored at n = 1, 4, 16, 64, \u2026 (nearest shown)" : "";
        showGroup(p.customdata, {note: note});
      });
    });
  }

  document.getElementById("open-viewer").addEventListener("click", function () { setViewer(true); });
  document.getElementById("viewer-close").addEventListener("click", function () { setViewer(false); });
  legend();
  fillSelect();
  Promise.all(DATA.figures.map(plot)).then(function () {
    document.body.setAttribute("data-ready", "1");
  }, function (err) {
    document.body.setAttribute("data-ready", "error");
    throw err;
  });
  window.overoptReport = {showGroup: showGroup};
}());
