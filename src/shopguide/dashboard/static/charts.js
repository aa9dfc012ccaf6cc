/* Tiny hand-written SVG charts (no library, no network). */
"use strict";
const SG_COLORS = ["#2f6fdb", "#1f9d55", "#e0a100", "#d64545", "#7a5af8", "#0ba5ec",
                   "#f97066", "#98a2b3"];

function svgEl(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/* 871400 -> "871.4k", 250000 -> "250k", 1250 -> "1.25k", 0.5 -> "0.5". */
function shortNumber(v) {
  const a = Math.abs(v);
  const short = x => Number(x.toFixed(2)).toLocaleString("en", { maximumFractionDigits: 2 });
  if (a >= 1e9) return short(v / 1e9) + "B";
  if (a >= 1e6) return short(v / 1e6) + "M";
  if (a >= 1e3) return short(v / 1e3) + "k";
  return short(v);
}

/* A round step near `rough`: 1, 2, 2.5 or 5 times a power of ten. */
function niceStep(rough) {
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const f = rough / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * power;
}

/* Axis ticks from 0 to a round value >= max, about `count` round steps apart:
   niceTicks(871400) -> [0, 250000, 500000, 750000, 1000000]. */
function niceTicks(max, count) {
  if (!(max > 0)) return [0, 1];
  const step = niceStep(max / (count || 4));
  const steps = Math.ceil(max / step - 1e-9);
  return Array.from({ length: steps + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/* Horizontal bars: rows [{label, value, color?, attrs?}], one series. With `axis` the bars
   are scaled to a round axis end and round ticks are drawn under them. */
function barChart(rows, opts) {
  const o = Object.assign({ width: 520, rowHeight: 24, labelWidth: 150, color: SG_COLORS[0],
                            format: shortNumber, axis: false }, opts || {});
  const axisH = o.axis ? 22 : 0;
  const h = rows.length * o.rowHeight + 10 + axisH;
  const svg = svgEl("svg", { viewBox: `0 0 ${o.width} ${h}`, width: "100%", role: "img" });
  const ticks = o.axis ? niceTicks(Math.max(0, ...rows.map(r => r.value))) : null;
  const max = ticks ? ticks[ticks.length - 1] : Math.max(1e-9, ...rows.map(r => r.value));
  const span = o.width - o.labelWidth - 60;
  for (const tick of ticks || []) {
    const x = o.labelWidth + (tick / max) * span;
    svg.appendChild(svgEl("line", { x1: x, x2: x, y1: 5, y2: h - axisH, stroke: "#e4e7ec" }));
    svg.appendChild(svgEl("text", { x, y: h - 6, "text-anchor": "middle", class: "tick",
                                    "data-tick": tick }, shortNumber(tick)));
  }
  rows.forEach((r, i) => {
    const y = i * o.rowHeight + 5;
    svg.appendChild(svgEl("text", { x: o.labelWidth - 6, y: y + 14, "text-anchor": "end" },
                          r.label));
    const w = Math.max(0, (r.value / max) * span);
    const rect = svgEl("rect", Object.assign({ x: o.labelWidth, y: y + 3, width: w,
                                               height: o.rowHeight - 8, rx: 3,
                                               fill: r.color || o.color, "data-label": r.label,
                                               "data-value": r.value }, r.attrs || {}));
    rect.appendChild(svgEl("title", {}, `${r.label}: ${o.format(r.value)}`));
    svg.appendChild(rect);
    svg.appendChild(svgEl("text", { x: o.labelWidth + w + 5, y: y + 14 }, o.format(r.value)));
  });
  return svg;
}

/* Stacked monthly columns: months [..], series {name: [values per month]}. */
function stackedColumns(months, series, opts) {
  const o = Object.assign({ width: 760, height: 260, pad: 40 }, opts || {});
  const names = Object.keys(series);
  const totals = months.map((_, i) => names.reduce((s, n) => s + (series[n][i] || 0), 0));
  const ticks = niceTicks(Math.max(0, ...totals));
  const max = ticks[ticks.length - 1];  // the axis ends on a round value
  const svg = svgEl("svg", { viewBox: `0 0 ${o.width} ${o.height}`, width: "100%", role: "img" });
  const plotH = o.height - o.pad - 10, plotW = o.width - o.pad - 10;
  const colW = plotW / Math.max(1, months.length);
  for (const tick of ticks) {
    const y = 10 + plotH - (plotH * tick) / max;
    svg.appendChild(svgEl("line", { x1: o.pad, x2: o.width - 10, y1: y, y2: y,
                                    stroke: "#e4e7ec" }));
    svg.appendChild(svgEl("text", { x: o.pad - 4, y: y + 4, "text-anchor": "end",
                                    class: "tick", "data-tick": tick }, shortNumber(tick)));
  }
  months.forEach((m, i) => {
    let base = 0;
    names.forEach((n, k) => {
      const v = series[n][i] || 0;
      const hh = (v / max) * plotH;
      const barW = Math.min(colW * 0.7, 56);  // a few months: slim columns, not slabs
      const rect = svgEl("rect", { x: o.pad + i * colW + (colW - barW) / 2, width: barW,
                                   y: 10 + plotH - base - hh, height: hh,
                                   fill: SG_COLORS[k % SG_COLORS.length] });
      rect.appendChild(svgEl("title", {}, `${m} ${n}: ${shortNumber(v)}`));
      svg.appendChild(rect);
      base += hh;
    });
    if (months.length <= 18 || i % 2 === 0) {
      svg.appendChild(svgEl("text", { x: o.pad + i * colW + colW / 2, y: o.height - o.pad + 16,
                                      "text-anchor": "middle" }, m));
    }
  });
  const wrap = document.createElement("div");
  wrap.appendChild(svg);
  const legend = document.createElement("div");
  legend.className = "legend";
  names.forEach((n, k) => {
    const s = document.createElement("span");
    const i = document.createElement("i");
    i.style.background = SG_COLORS[k % SG_COLORS.length];
    s.append(i, n);
    legend.appendChild(s);
  });
  wrap.appendChild(legend);
  return wrap;
}

/* A half-circle gauge for a probability in [0, 1]. */
function gauge(p, label) {
  const svg = svgEl("svg", { viewBox: "0 0 200 120", width: "200", role: "img" });
  const arc = (from, to, color) => {
    const a0 = Math.PI * (1 - from), a1 = Math.PI * (1 - to);
    const x0 = 100 + 80 * Math.cos(a0), y0 = 100 - 80 * Math.sin(a0);
    const x1 = 100 + 80 * Math.cos(a1), y1 = 100 - 80 * Math.sin(a1);
    return svgEl("path", { d: `M ${x0} ${y0} A 80 80 0 0 1 ${x1} ${y1}`, stroke: color,
                           "stroke-width": 16, fill: "none" });
  };
  svg.appendChild(arc(0, 1, "#e4e7ec"));
  const color = p < 0.33 ? "#1f9d55" : p < 0.66 ? "#e0a100" : "#d64545";
  if (p > 0) svg.appendChild(arc(0, Math.min(p, 0.999), color));
  svg.appendChild(svgEl("text", { x: 100, y: 95, "text-anchor": "middle",
                                  style: "font-size:22px;fill:#1d2433" },
                        Math.round(p * 100) + "%"));
  svg.appendChild(svgEl("text", { x: 100, y: 115, "text-anchor": "middle" }, label || ""));
  return svg;
}
