// util.js: DOM building and number formatting shared by every view.
// The page has no framework, so views build their DOM with h() and replace
// whole sections when data changes; text always goes in as text nodes, never
// as HTML, so file names and server messages cannot inject markup.

// h('div', {class: 'x', onclick: fn}, child, 'text', [more children])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

// 1536 -> "1.5 KB". Binary steps, so the server's 2 GiB limit reads "2 GB".
export function fmtBytes(n) {
  if (!Number.isFinite(n) || n < 0) return '?';
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  const t = i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0).replace(/\.0$/, '');
  return `${t} ${UNITS[i]}`;
}

// seconds -> "1:02:03" or "2:03"; for durations a person reads.
export function fmtDuration(s) {
  if (!Number.isFinite(s) || s < 0) return '?';
  s = Math.round(s);
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const p2 = (x) => String(x).padStart(2, '0');
  return hh ? `${hh}:${p2(mm)}:${p2(ss)}` : `${mm}:${p2(ss)}`;
}

// seconds -> "00:01:02.345", the timecode format of the scenes result.
export function fmtTimecode(s) {
  if (!Number.isFinite(s) || s < 0) return '?';
  const ms = Math.round(s * 1000);
  const hh = Math.floor(ms / 3600000), mm = Math.floor((ms % 3600000) / 60000);
  const ss = Math.floor((ms % 60000) / 1000), rest = ms % 1000;
  const p = (x, n) => String(x).padStart(n, '0');
  return `${p(hh, 2)}:${p(mm, 2)}:${p(ss, 2)}.${p(rest, 3)}`;
}

// Remaining time in words: "about 5 s", "about 2 min".
export function fmtEta(s) {
  if (!Number.isFinite(s) || s < 0) return '';
  if (s < 1) return 'less than a second';
  if (s < 90) return `about ${Math.ceil(s)} s`;
  if (s < 5400) return `about ${Math.round(s / 60)} min`;
  return `about ${(s / 3600).toFixed(1)} h`;
}

export function fmtDate(v) {
  if (v === null || v === undefined || v === '') return '';
  // The API may send ISO text or Unix seconds.
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString();
}

export function pct(f) {
  return `${Math.round(Math.max(0, Math.min(1, f || 0)) * 100)}%`;
}
