/* Air-quality station map: markers coloured by the day's AQI class (HJ 633) or by the year's assessment
 * status (HJ 663), shaped by level (vocabulary air_station_levels), with a popup holding the day's IAQIs
 * and a small chart of the last days' AQI (services/air.TREND_DAYS) (bars in class colours) and PM2.5 against its 24-h limit.
 * Every text goes in as text, never as HTML: station names come from uploaded layers. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var VOCAB = JSON.parse(document.getElementById("zoning-vocabulary").textContent);

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

  function icon(row, color) {
    var level = VOCAB.air_levels[row.level] || {shape: "circle", radius: 7};
    return ZoningMap.levelIcon(level.shape, color, 2 * level.radius + 4);
  }

  /* AQI bars (class colours) over the PM2.5 line, the 24-h limit dashed; the chosen day ringed. */
  function chart(series, selected) {
    var days = series.days;
    var W = 300, H = 150, L0 = 32, R = 6, T = 8, MID = 70, B = 18;
    var box = svg("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "am-chart"});
    if (!days.length) { var t0 = svg("text", {x: W / 2, y: H / 2, "text-anchor": "middle", "font-size": 11}); t0.textContent = "该时段没有监测数据"; box.appendChild(t0); return box; }
    var n = days.length, bw = (W - L0 - R) / n;
    var top = Math.max(200, Math.max.apply(null, days.map(function (d) { return d.aqi || 0; })));
    function y1(v) { return T + (MID - T) * (1 - v / top); }
    [100, 200].forEach(function (v) {
      box.appendChild(svg("line", {x1: L0, x2: W - R, y1: y1(v), y2: y1(v), stroke: "#bbb", "stroke-width": 0.6}));
      var t = svg("text", {x: L0 - 3, y: y1(v) + 3, "text-anchor": "end", "font-size": 9}); t.textContent = v; box.appendChild(t);
    });
    days.forEach(function (d, i) {
      if (d.aqi === null) return;
      var r = svg("rect", {x: L0 + i * bw + 0.5, y: y1(d.aqi), width: Math.max(bw - 1, 1), height: MID - y1(d.aqi), fill: d.color, stroke: "#666", "stroke-width": 0.3});
      var tip = svg("title", {}); tip.textContent = d.date + " AQI " + d.aqi + " " + (d.category || ""); r.appendChild(tip);
      box.appendChild(r);
    });
    var la = svg("text", {x: L0 + 2, y: T + 8, "font-size": 9}); la.textContent = "AQI"; box.appendChild(la);
    var T2 = MID + 10, B2 = H - B;
    var pm = days.filter(function (d) { return d.pm25 !== null; });
    var top2 = Math.max.apply(null, days.map(function (d) { return d.pm25_limit_24h; }).concat(pm.map(function (d) { return d.pm25; }))) * 1.1;
    function y2(v) { return T2 + (B2 - T2) * (1 - v / top2); }
    function x(i) { return L0 + (i + 0.5) * bw; }
    days.forEach(function (d, i) {  // the limit in force that day: it steps where the GB 3095 edition changes
      box.appendChild(svg("line", {x1: L0 + i * bw, x2: L0 + (i + 1) * bw, y1: y2(d.pm25_limit_24h), y2: y2(d.pm25_limit_24h),
                                   stroke: "#c00000", "stroke-width": 1.2, "stroke-dasharray": "3 2", "class": "am-limit"}));
    });
    var lt = svg("text", {x: W - R, y: y2(days[n - 1].pm25_limit_24h) - 3, "text-anchor": "end", "font-size": 9, fill: "#c00000"});
    lt.textContent = "PM2.5 24小时限值 " + days[n - 1].pm25_limit_24h; box.appendChild(lt);
    var pts = [];
    days.forEach(function (d, i) { if (d.pm25 !== null) pts.push(x(i) + "," + y2(d.pm25)); });
    box.appendChild(svg("polyline", {points: pts.join(" "), fill: "none", stroke: "#1f4e79", "stroke-width": 1.2, "class": "am-pm25"}));
    var lp = svg("text", {x: L0 + 2, y: T2 + 8, "font-size": 9, fill: "#1f4e79"}); lp.textContent = "PM2.5 μg/m³"; box.appendChild(lp);
    days.forEach(function (d, i) {
      if (d.date === selected) box.appendChild(svg("rect", {x: L0 + i * bw, y: T, width: bw, height: B2 - T, fill: "none", stroke: "#1f4e3d", "stroke-width": 1.5, "class": "am-selected"}));
    });
    [0, n - 1].forEach(function (i) {
      var t = svg("text", {x: i ? W - R : L0, y: H - 5, "text-anchor": i ? "end" : "start", "font-size": 9}); t.textContent = days[i].date; box.appendChild(t);
    });
    return box;
  }

  function popup(row, marker, options) {
    var box = el("div", null, "sm-popup am-popup");
    box.appendChild(el("h4", row.name));
    var t = el("table");
    function add(k, v) { var tr = el("tr"); tr.appendChild(el("th", k)); tr.appendChild(el("td", v === null || v === undefined || v === "" ? "—" : v)); t.appendChild(tr); }
    add("级别 / 类型", row.level + " / " + (row.station_type || "—"));
    if (options.mode === "year") {
      add(options.year + " 年评价", row.status + (row.failing_pollutants.length ? "（超标：" + row.failing_pollutants.join("、") + "）" : ""));
      add("PM2.5 年均", row.pm25_annual === null ? null : row.pm25_annual + " μg/m³");
      add("优良天数比例", row.good_days_ratio === null ? null : row.good_days_ratio + "%（" + row.good_days + "/" + row.valid_aqi_days + " 天）");
    }
    add(row.date + " AQI", row.aqi === null ? "无数据" : row.aqi + "（" + row.category + "）");
    add("首要污染物", row.primary_pollutants_zh.join("、"));
    box.appendChild(t);
    if (row.iaqi.length) {
      var it = el("table", null, "am-iaqi");
      var head = el("tr"); ["指标", "浓度", "分指数"].forEach(function (h) { head.appendChild(el("th", h)); }); it.appendChild(head);
      row.iaqi.forEach(function (e) {
        var tr = el("tr"); tr.appendChild(el("td", e.name_zh)); tr.appendChild(el("td", e.concentration + " " + e.unit)); tr.appendChild(el("td", e.iaqi === null ? "—" : e.iaqi));
        it.appendChild(tr);
      });
      box.appendChild(it);
      box.appendChild(el("div", "按 " + row.standard + " 计算", "am-note"));
    }
    var holder = el("div", "加载趋势图…", "sm-chart-box");
    box.appendChild(holder);
    var link = el("a", "全年趋势图与日历 →");
    link.href = options.page_url + "?year=" + encodeURIComponent(options.year || "") + "&date=" + encodeURIComponent(row.date || "") +
      "&mode=" + encodeURIComponent(options.mode) + "&station=" + encodeURIComponent(row.id) + "#station";
    box.appendChild(link);
    if (row.date) {
      fetch("/api/air/stations/" + encodeURIComponent(row.id) + "/series?end=" + encodeURIComponent(row.date) + "&days=" + options.trend_days)
        .then(function (r) { return r.json(); }).then(function (s) {
          holder.textContent = "";
          holder.appendChild(el("div", "近 " + options.trend_days + " 日 AQI 与 PM2.5（框为所选日）", "sm-chart-title"));
          holder.appendChild(chart(s, row.date));
          holder.dataset.points = String(s.days.length);
          if (marker && marker.isPopupOpen()) marker.getPopup().update();
        }).catch(function () { holder.textContent = "趋势图加载失败"; });
    } else {
      holder.textContent = "";
    }
    return box;
  }

  function stationsLayer(map, rows, options) {
    var group = L.featureGroup();
    rows.forEach(function (row) {
      if (row.lat === null || row.lon === null) return;
      var color = options.mode === "year" ? row.status_color : row.color;
      var m = L.marker([row.lat, row.lon], {icon: icon(row, color), title: row.name, keyboard: true});
      m.stationRow = row;
      var word = options.mode === "year" ? row.status : (row.aqi === null ? "无数据" : "AQI " + row.aqi + " " + row.category);
      m.bindTooltip(ZoningMap.textNode(row.name + " " + word), {direction: "top"});
      var w = Math.min(320, map.getSize().x - 80);
      m.bindPopup("", {maxWidth: Math.max(w, Math.min(340, map.getSize().x - 80)), minWidth: w, autoPanPadding: [10, 10]});
      m.on("popupopen", function (e) { e.popup.setContent(popup(row, m, options)); });
      group.addLayer(m);
    });
    group.addTo(map);
    map.on("popupopen", function () { map.getContainer().classList.add("sm-popup-open"); });
    map.on("popupclose", function () { map.getContainer().classList.remove("sm-popup-open"); });
    window.AirMap.layer = group;
    window.AirMap.map = map;
    return group;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select.auto-submit, input.auto-submit").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  });

  window.AirMap = {stationsLayer: stationsLayer, chart: chart};
})();
