// player.js: what every result view shares about the page's one player:
// seeking it, short time labels, the switch between the upload and an
// annotated rendering of it (faces.mp4, pose.mp4), and loading uPlot for
// charts that follow the player's time.

import { fmtDuration, fmtTimecode, h } from './util.js';

export function seekTo(video, t) {
  if (!Number.isFinite(t)) return;
  video.currentTime = Math.max(0, t);
}

// 4.6 -> "0:04.6": appearances and chart ticks are often under a second apart.
export function shortTime(x) {
  if (!Number.isFinite(x)) return '';
  if (x >= 3600) return fmtDuration(x);
  return `${Math.floor(x / 60)}:${(x % 60).toFixed(1).padStart(4, '0')}`;
}

// ---- annotated renderings in the same player ---------------------------------

// The switches of one player: turning one on turns the others off, since
// the player shows one rendering at a time.
const switches = new WeakMap();

/*
 * A button that swaps the player between the upload and an annotated
 * rendering of it, keeping time and play state, so every control that
 * seeks the player keeps working on either. `id` is the button's id,
 * `show` its label while off ("Show faces circled").
 */
export function viewSwitch(video, originalUrl, { id, url, show, name }) {
  const btn = h('button', { type: 'button', class: 'button', id, 'aria-pressed': 'false' }, show);
  if (!switches.has(video)) switches.set(video, []);
  const group = switches.get(video);
  const set = (b, on) => {
    b.el.setAttribute('aria-pressed', String(on));
    b.el.textContent = on ? 'Show the original video' : b.show;
  };
  const me = { el: btn, show };
  group.push(me);
  btn.addEventListener('click', () => {
    const on = btn.getAttribute('aria-pressed') !== 'true';
    const t = video.currentTime, playing = !video.paused;
    video.src = on ? url : originalUrl;
    video.addEventListener('loadedmetadata', () => {
      video.currentTime = Math.min(t, video.duration || t);
      if (playing) video.play().catch(() => {});
    }, { once: true });
    for (const b of group) set(b, b === me && on);
    video.dataset.showing = on ? name : 'original';
  });
  return btn;
}

// ---- charts -------------------------------------------------------------------

let uplotLoad = null;

// Seconds between time ticks on a chart's x axis.
const TIME_STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

// uPlot is not part of the page: scripts/web-deps copies it into web/vendor/.
// Resolves to the uPlot constructor, or null when it is not installed.
export function loadUplot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!uplotLoad) {
    uplotLoad = new Promise((resolve) => {
      document.head.append(h('link', { rel: 'stylesheet', href: 'vendor/uPlot.min.css' }));
      const s = h('script', { src: 'vendor/uPlot.iife.min.js' });
      s.addEventListener('load', () => resolve(window.uPlot || null));
      s.addEventListener('error', () => resolve(null));
      document.head.append(s);
    });
  }
  return uplotLoad;
}

/*
 * Makes a drawn uPlot chart follow the player: a line at the player's time,
 * a click on the plot seeks there, and the chart keeps its box's width.
 * Returns the uPlot plugin to pass in the chart's options (before creating
 * it) and a function to call with the chart once created.
 */
function followPlayer(uPlot, video, host, height) {
  const plugin = { hooks: { draw: [(u) => {
    const x = u.valToPos(video.currentTime || 0, 'x', true);
    if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) return;
    const g = u.ctx;
    g.save();
    g.strokeStyle = getComputedStyle(document.body).color;
    g.lineWidth = 2 * (uPlot.pxRatio || 1);
    g.beginPath();
    g.moveTo(x, u.bbox.top);
    g.lineTo(x, u.bbox.top + u.bbox.height);
    g.stroke();
    g.restore();
  }] } };
  const attach = (chart) => {
    video.addEventListener('timeupdate', () => chart.redraw(false, false));
    video.addEventListener('seeked', () => chart.redraw(false, false));
    // Captured on the chart's root: uPlot handles the plot's own mouse events.
    host.addEventListener('click', (ev) => {
      const r = chart.over.getBoundingClientRect();
      if (ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom) return;
      seekTo(video, chart.posToVal(ev.clientX - r.left, 'x'));
    }, true);
    new ResizeObserver(() => {
      const w = host.clientWidth;
      if (w && Math.abs(w - chart.width) > 4) chart.setSize({ width: w, height });
    }).observe(host);
  };
  return { plugin, attach };
}

/*
 * Draws a chart over the player's time into `host`: x is time (the data's
 * own range, fixed, so a click maps to a time the same way whatever uPlot
 * would pad), with time labels, the playhead and click-to-seek. `y` gives
 * the y axis: `values` (tick labels), optionally `range` and `size`.
 * `series` are the data series' uPlot options (stroke defaults to the
 * page's ink, width 2), `values` their data, one array per series. Resolves
 * to the chart, or to null when uPlot is not installed: `host` is then
 * replaced by `missing`, a note saying so.
 */
export async function timeChart(video, host, { height, times, values, y, series, missing }) {
  const uPlot = await loadUplot();
  if (!uPlot) {
    host.replaceWith(missing);
    return null;
  }
  const ink = getComputedStyle(document.body).color;
  const grid = { stroke: 'rgba(127,127,127,.25)' };
  const follow = followPlayer(uPlot, video, host, height);
  const x0 = times[0], x1 = Math.max(times[times.length - 1], x0 + 1);
  const yAxis = { stroke: ink, grid, values: y.values };
  if (y.size) yAxis.size = y.size;
  const scales = { x: { time: false, range: [x0, x1] } };
  if (y.range) scales.y = { range: y.range };
  const chart = new uPlot({
    width: Math.max(280, host.clientWidth || 600), height, scales,
    // Steps a time label shows exactly (uPlot's own 0.25 s read 0:00.3, 0:00.8).
    axes: [{ stroke: ink, grid, incrs: TIME_STEPS, values: (u, v) => v.map(shortTime) }, yAxis],
    series: [{ label: 'time', value: (u, v) => (v == null ? '' : fmtTimecode(v)) },
      ...series.map((s) => ({ width: 2, ...s, stroke: s.stroke || ink }))],
    cursor: { drag: { x: false, y: false } },
    plugins: [follow.plugin],
  }, [times, ...values], host);
  host.dataset.xmin = x0;
  host.dataset.xmax = x1;
  follow.attach(chart);
  return chart;
}
