/* Monitoring-section map: markers coloured by water-quality class (GB 3838-2002), shaped by
 * level (国控 square, 市控 circle, 区控 triangle), with a popup holding the class, the deciding
 * parameters, the exceedance multiples (超标倍数) and a small SVG chart of the deciding parameter
 * against the target-class limit: each point coloured by that parameter's own class that month,
 * the selected month marked. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  // levels, shapes and status words come from the vocabulary the page embeds (data/vocabulary.yaml)
  var VOCAB = JSON.parse(document.getElementById("zoning-vocabulary").textContent);

  function icon(row) {
    var level = VOCAB.levels[row.level];
    return ZoningMap.levelIcon(level ? level.shape : "circle", row.color, 18);
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  /* Line chart of one parameter over the months, with the target-class limit dashed. A point's colour
   * is the class of this parameter alone that month (not the section's overall class); the month
   * `selected` (YYYY-MM) gets a vertical marker and a ring. */
  function chart(series, key, limit, selected) {
    var pts = series.monthly.filter(function (m) { return m.values_mg_l && m.values_mg_l[key] !== undefined; })
      .map(function (m) {
        var own = m.per_parameter && m.per_parameter[key];
        return {p: m.period, v: m.values_mg_l[key], c: own ? own.color : "#999999", k: own ? own["class"] : null};
      });
    var W = 300, H = 130, L0 = 38, B = 20, T = 8, R = 8;
    var box = svg("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "sm-chart"});
    if (!pts.length) return box;
    var vals = pts.map(function (d) { return d.v; });
    var lim = Array.isArray(limit) ? null : limit;
    var hi = Math.max.apply(null, vals.concat(lim !== null && lim !== undefined ? [lim] : [])) * 1.1;
    var lo = Math.min(0, Math.min.apply(null, vals));
    function x(i) { return L0 + (W - L0 - R) * (pts.length === 1 ? 0.5 : i / (pts.length - 1)); }
    function y(v) { return T + (H - T - B) * (1 - (v - lo) / (hi - lo || 1)); }
    box.appendChild(svg("line", {x1: L0, y1: T, x2: L0, y2: H - B, stroke: "#888"}));
    box.appendChild(svg("line", {x1: L0, y1: H - B, x2: W - R, y2: H - B, stroke: "#888"}));
    [lo, hi].forEach(function (v) {
      var t = svg("text", {x: L0 - 4, y: y(v) + 4, "text-anchor": "end", "font-size": 10});
      t.textContent = v.toPrecision(2);
      box.appendChild(t);
    });
    if (lim !== null && lim !== undefined) {
      box.appendChild(svg("line", {x1: L0, y1: y(lim), x2: W - R, y2: y(lim), stroke: "#c00", "stroke-dasharray": "4 3"}));
      var lt = svg("text", {x: W - R, y: y(lim) - 3, "text-anchor": "end", "font-size": 10, fill: "#c00"});
      lt.textContent = "目标类别限值 " + lim;
      box.appendChild(lt);
    }
    box.appendChild(svg("polyline", {points: pts.map(function (d, i) { return x(i) + "," + y(d.v); }).join(" "),
                                     fill: "none", stroke: "#333", "stroke-width": 1.2}));
    var sel = -1;
    pts.forEach(function (d, i) { if (d.p === selected) sel = i; });
    if (sel >= 0) {
      box.appendChild(svg("line", {x1: x(sel), y1: T, x2: x(sel), y2: H - B, stroke: "#1f4e3d", "stroke-width": 1, "class": "sm-selected-line"}));
      box.appendChild(svg("circle", {cx: x(sel), cy: y(pts[sel].v), r: 6.5, fill: "none", stroke: "#1f4e3d", "stroke-width": 2, "class": "sm-selected-ring"}));
    }
    pts.forEach(function (d, i) {
      var c = svg("circle", {cx: x(i), cy: y(d.v), r: 3.5, fill: d.c, stroke: "#333", "stroke-width": 0.6, "data-period": d.p, "data-class": d.k || ""});
      var tip = svg("title", {});
      tip.textContent = d.p + " " + key + " " + d.v + "（" + (d.k ? d.k + "类" : "未定类") + "）";
      c.appendChild(tip);
      box.appendChild(c);
    });
    [0, pts.length - 1].forEach(function (i) {
      var t = svg("text", {x: x(i), y: H - 5, "text-anchor": i ? "end" : "start", "font-size": 10});
      t.textContent = pts[i].p;
      box.appendChild(t);
    });
    if (sel >= 0) {  // the selected month named at the top of its marker, on the side with room
      var right = x(sel) < W / 2;
      var st = svg("text", {x: x(sel) + (right ? 4 : -4), y: T + 9, "text-anchor": right ? "start" : "end", "font-size": 10,
                            fill: "#1f4e3d", "class": "sm-selected"});
      st.textContent = "所选 " + pts[sel].p;
      box.appendChild(st);
    }
    return box;
  }

  function popup(row, marker) {
    var box = el("div", null, "sm-popup");
    box.appendChild(el("h4", row.name + "（" + row.level + "）"));
    var t = el("table");
    function add(k, v) { var tr = el("tr"); tr.appendChild(el("th", k)); tr.appendChild(el("td", v === null || v === undefined || v === "" ? "—" : v)); t.appendChild(tr); }
    add("河流/湖库", row.river);
    add(row.period + " 类别", row.latest_class ? row.latest_class + "类（" + (row.quality || "") + "）" : "无监测数据");
    add("目标类别", row.target_class ? row.target_class + "类" : "规划未明确");
    add("是否达标", row.compliant === true ? VOCAB.statuses.target.met.label : row.compliant === false ? VOCAB.statuses.target.not_met.label : "—");
    add("定类指标", (row.deciding_parameters || []).join("、"));
    add("超标倍数", row.exceedance_text);
    if (row.class_2020) add("2020年（规划）", row.class_2020 + "类");
    box.appendChild(t);
    var holder = el("div", "加载趋势图…", "sm-chart-box");
    box.appendChild(holder);
    fetch("/api/sections/" + encodeURIComponent(row.id) + "/series").then(function (r) { return r.json(); }).then(function (s) {
      holder.textContent = "";
      var key = (row.deciding_parameters && row.deciding_parameters[0]) || "NH3-N";
      holder.appendChild(el("div", key + " 月度变化（mg/L）：点色为 " + key + " 自身的类别，竖线为 " + row.period, "sm-chart-title"));
      holder.appendChild(chart(s, key, s.target_limits[key], row.period));
      holder.dataset.points = String(s.monthly.length);
      // re-fit and pan now that the chart is in; and again shortly, as an update that meets the opening pan still
      // under way stops that pan where it is (seen on a busy phone), so the popup could stay half outside the map
      var refit = function () { if (marker && marker.isPopupOpen()) marker.getPopup().update(); };
      refit();
      setTimeout(refit, 350);
      setTimeout(refit, 1200);
    }).catch(function () { holder.textContent = "趋势图加载失败"; });
    return box;
  }

  function sectionsLayer(map, rows) {
    var group = L.featureGroup();
    rows.forEach(function (row) {
      if (row.lat === null || row.lon === null) return;
      var m = L.marker([row.lat, row.lon], {icon: icon(row), title: row.name, keyboard: true});
      m.sectionRow = row;
      m.bindTooltip(ZoningMap.textNode(row.name + " " + (row.latest_class || "无数据")), {direction: "top"});
      // the content is built when the popup opens (an element, not a function, so that update() after the
      // chart arrives re-fits the popup without building it again)
      // a phone-wide map still shows the whole popup (Leaflet adds about 45 px of margins to the content width)
      var w = Math.min(320, map.getSize().x - 80);
      m.bindPopup("", {maxWidth: Math.max(w, Math.min(340, map.getSize().x - 80)), minWidth: w, autoPanPadding: [10, 10]});
      m.on("popupopen", function (e) { e.popup.setContent(popup(row, m)); });
      group.addLayer(m);
    });
    group.addTo(map);
    // on a narrow map the legend and the coordinate readout step aside while a popup is open (sections.css)
    map.on("popupopen", function () { map.getContainer().classList.add("sm-popup-open"); });
    map.on("popupclose", function () { map.getContainer().classList.remove("sm-popup-open"); });
    window.SectionsMap.layer = group;
    window.SectionsMap.map = map;
    return group;
  }

  /* The month picker submits itself (no inline handlers: the CSP allows only this app's scripts). */
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select.auto-submit").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  });

  window.SectionsMap = {sectionsLayer: sectionsLayer, chart: chart};
})();
