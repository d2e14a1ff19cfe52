// upload.js: the upload panel. A person drops or picks a file; the page checks
// its type and size before sending anything, streams it with XMLHttpRequest
// (fetch() has no upload progress), shows percent, speed and time left, then
// starts the chosen analyses and goes to the analysis page.

import { API, analysisTypes, describeFailure, maxUploadBytes, post, serverDetail } from './api.js';
import { clear, fmtBytes, fmtEta, h } from './util.js';

// Extensions FFmpeg commonly reads. Used only when the browser gives no MIME
// type or a generic one; the server's probe has the last word (415).
const MEDIA_EXT = new Set(
  ('mp4 m4v mov qt mkv mka webm avi flv f4v wmv wma asf mpg mpeg mpe m2v ts mts m2ts vob ' +
    'ogv ogg oga opus 3gp 3g2 mxf dv y4m nut h264 264 hevc h265 ivf gif ' +
    'mp3 wav flac aac m4a ac3 eac3 aiff aif amr au caf').split(' '));
const MEDIA_MIME = /^(video|audio)\//;
const GENERIC_MIME = new Set(['', 'application/octet-stream', 'application/ogg', 'application/mxf',
  'application/x-matroska', 'application/vnd.rn-realmedia']);

// The server's default limit (issue 3). A server that documents its own limit
// in the OpenAPI info (x-max-upload-bytes) overrides it.
export const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;

const STORE_KEY = 'vidan.analyses';

// The analyses and options currently chosen in the panel, for the library's
// "Analyze again" button. Set once the panel has loaded the analysis list.
let currentChoice = null;
export function chosenRequest() {
  return currentChoice ? currentChoice() : null;
}


// The registry's descriptions start in either case; the list reads as
// sentences.
const capitalised = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);
function ext(name) {
  const i = name.lastIndexOf('.');
  return i > 0 ? name.slice(i + 1).toLowerCase() : '';
}

// null when the file may be sent, else a sentence saying why not.
export function checkFile(file, maxBytes) {
  const name = `“${file.name}”`;
  if (file.size === 0) return `${name} is empty (0 bytes), so there is nothing to analyze. Choose a video file.`;
  if (file.size > maxBytes)
    return `${name} is ${fmtBytes(file.size)}, but this server accepts files up to ${fmtBytes(maxBytes)}. ` +
      'Trim or re-encode the video to make it smaller.';
  const type = (file.type || '').toLowerCase();
  if (MEDIA_MIME.test(type) || MEDIA_EXT.has(ext(file.name))) return null;
  if (GENERIC_MIME.has(type)) return null; // unknown: let the server's probe decide
  return `${name} is not a video or audio file (its type is ${type}). ` +
    'Choose a video such as MP4, MKV, MOV, WebM or AVI, or an audio file.';
}

// Sends `file` as multipart field "file". onProgress(loaded, total) is called
// as bytes leave. Resolves {status, body}; status 0 means the network failed.
function sendFile(file, onProgress, signal) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${API}/files`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size));
    xhr.addEventListener('load', () => {
      let body = xhr.responseText;
      try {
        body = JSON.parse(body);
      } catch {
        /* keep text */
      }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener('error', () => resolve({ status: 0, body: null }));
    xhr.addEventListener('abort', () => resolve({ status: -1, body: null }));
    signal.addEventListener('abort', () => xhr.abort());
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

// Smoothed upload speed: an exponential moving average of the rate over
// windows of at least 250 ms, so the number does not flicker.
class SpeedMeter {
  constructor() {
    this.t = performance.now();
    this.bytes = 0;
    this.rate = 0;
  }
  update(loaded) {
    const now = performance.now(), dt = (now - this.t) / 1000;
    if (dt < 0.25) return this.rate;
    const r = (loaded - this.bytes) / dt;
    this.rate = this.rate ? 0.7 * this.rate + 0.3 * r : r;
    this.t = now;
    this.bytes = loaded;
    return this.rate;
  }
}

function paramInput(aname, pname, spec) {
  const id = `p-${aname}-${pname}`;
  const def = spec.default;
  let input;
  if (Array.isArray(spec.enum)) {
    input = h('select', { id }, spec.enum.map((v) => h('option', { value: String(v), selected: v === def }, String(v))));
  } else if (spec.type === 'boolean') {
    input = h('input', { id, type: 'checkbox', checked: def === true });
  } else if (spec.type === 'integer' || spec.type === 'number') {
    input = h('input', {
      id, type: 'number', value: def ?? '', min: spec.minimum ?? null, max: spec.maximum ?? null,
      step: spec.type === 'integer' ? '1' : 'any', inputmode: 'decimal',
    });
  } else {
    input = h('input', { id, type: 'text', value: def ?? '' });
  }
  input.dataset.param = pname;
  input.dataset.kind = spec.type || (Array.isArray(spec.enum) ? 'string' : 'string');
  const help = spec.description ? h('small', { class: 'help', id: `${id}-help` }, spec.description) : null;
  if (help) input.setAttribute('aria-describedby', help.id);
  return h('div', { class: spec.type === 'boolean' ? 'param bool' : 'param' },
    h('label', { for: id }, pname), input, help);
}

// Reads the options a person changed; defaults are left to the server.
function readParams(box, types) {
  const params = {};
  for (const t of types) {
    const out = {};
    for (const el of box.querySelectorAll(`[data-type="${t.name}"] [data-param]`)) {
      const spec = t.params[el.dataset.param] || {};
      let v;
      if (el.type === 'checkbox') v = el.checked;
      else if (el.dataset.kind === 'integer' || el.dataset.kind === 'number') {
        if (el.value === '') continue;
        v = Number(el.value);
      } else v = el.value;
      if (v !== spec.default) out[el.dataset.param] = v;
    }
    if (Object.keys(out).length) params[t.name] = out;
  }
  return params;
}

function loadChoice(types) {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE_KEY) || 'null');
    if (Array.isArray(saved)) return new Set(saved);
  } catch {
    /* fall through */
  }
  // First visit: scene detection and its per-scene clips, when offered.
  const pick = types.map((t) => t.name).filter((n) => n === 'scenes' || n === 'clips');
  return new Set(pick.length ? pick : types.slice(0, 1).map((t) => t.name));
}

/*
 * Builds the panel into `root`. opts.onUploaded(file, job) runs after the
 * analysis was created. Returns nothing; all state lives in the DOM.
 */
export async function renderUpload(root, { onStarted }) {
  const status = h('div', { class: 'upload-status', id: 'upload-status', role: 'status', 'aria-live': 'polite' });
  const input = h('input', { type: 'file', id: 'file-input', class: 'visually-hidden',
    accept: 'video/*,audio/*,.mkv,.flv,.ts,.mts,.m2ts,.mxf,.y4m,.nut' });
  const maxSpan = h('span', { id: 'max-size' }, fmtBytes(DEFAULT_MAX_BYTES));
  const drop = h('div', { class: 'drop', id: 'drop' },
    h('p', { class: 'drop-title' }, 'Drop a video here'),
    h('p', {}, 'or ', h('label', { for: 'file-input', class: 'button primary' }, 'Choose a file…')),
    h('p', { class: 'hint' }, 'Any format FFmpeg reads, up to ', maxSpan, '.'),
    input);
  const typesBox = h('fieldset', { class: 'types', id: 'analysis-types' }, h('legend', {}, 'Analyses to run'),
    h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('section', { class: 'panel upload', 'aria-labelledby': 'upload-h' },
    h('h1', { id: 'upload-h' }, 'Analyze a video'), drop, typesBox, status));

  let types = [];
  let maxBytes = DEFAULT_MAX_BYTES;
  let busy = false;
  try {
    types = (await analysisTypes()).filter((t) => !t.internal);
  } catch (e) {
    clear(typesBox).append(h('legend', {}, 'Analyses to run'), h('p', { class: 'notice error' }, e.message));
  }
  const lim = await maxUploadBytes();
  if (lim) {
    maxBytes = lim;
    maxSpan.textContent = fmtBytes(lim);
  }
  if (types.length) {
    const chosen = loadChoice(types);
    clear(typesBox).append(h('legend', {}, 'Analyses to run'));
    for (const t of types) {
      const names = Object.keys(t.params || {});
      typesBox.append(h('div', { class: 'type', 'data-type': t.name },
        h('label', { class: 'check' },
          h('input', { type: 'checkbox', name: 'analysis', value: t.name, checked: chosen.has(t.name) }),
          h('span', { class: 'name' }, t.name),
          t.description ? h('span', { class: 'desc' }, h('span', { class: 'dash' }, ' — '), capitalised(t.description)) : null),
        names.length
          ? h('details', { class: 'params' }, h('summary', {}, 'Options',
            h('span', { class: 'visually-hidden' }, ` for ${t.name}`)),
            names.map((p) => paramInput(t.name, p, t.params[p])))
          : null));
    }
  }

  currentChoice = () => ({
    analyses: [...typesBox.querySelectorAll('input[name=analysis]:checked')].map((x) => x.value),
    params: readParams(typesBox, types),
  });

  const say = (cls, ...content) => clear(status).append(h('div', { class: `notice ${cls}` }, ...content));

  async function start(file) {
    if (busy) return;
    const { analyses: selected, params } = currentChoice();
    const refusal = checkFile(file, maxBytes);
    if (refusal) return say('error', h('strong', {}, 'Not uploaded. '), refusal);
    if (types.length && !selected.length)
      return say('error', h('strong', {}, 'Not uploaded. '), 'Tick at least one analysis to run.');
    localStorage.setItem(STORE_KEY, JSON.stringify(selected));
    busy = true;
    drop.classList.add('busy');
    const ctrl = new AbortController();
    const bar = h('progress', { id: 'upload-progress', max: 100, value: 0, 'aria-label': 'Upload progress' });
    const line = h('span', { class: 'upload-line', id: 'upload-line' }, 'Starting…');
    const cancel = h('button', { type: 'button', class: 'button', onclick: () => ctrl.abort() }, 'Cancel upload');
    clear(status).append(h('div', { class: 'uploading' },
      h('p', {}, 'Uploading ', h('strong', {}, file.name), ` (${fmtBytes(file.size)})`), bar, h('p', {}, line, ' ', cancel)));
    const meter = new SpeedMeter();
    const { status: code, body } = await sendFile(file, (loaded, total) => {
      const rate = meter.update(loaded);
      const p = total ? (100 * loaded) / total : 0;
      bar.value = p;
      bar.dataset.seen = `${bar.dataset.seen || ''} ${Math.round(p)}`.trim();
      line.textContent = loaded >= total
        ? 'Uploaded. The server is checking the file…'
        : `${Math.floor(p)}% · ${fmtBytes(loaded)} of ${fmtBytes(total)}` +
          (rate > 0 ? ` · ${fmtBytes(rate)}/s · ${fmtEta((total - loaded) / rate)} left` : '');
    }, ctrl.signal);
    busy = false;
    drop.classList.remove('busy');
    input.value = '';
    if (code === -1) return say('info', 'Upload canceled. Nothing was kept.');
    if (code !== 200 && code !== 201)
      return say('error', h('strong', {}, 'Not uploaded. '), describeFailure(code, serverDetail(body), 'The upload'));
    const fileRec = body;
    if (!types.length || !selected.length) return onStarted(fileRec, null);
    line.textContent = 'Uploaded. Starting the analysis…';
    try {
      const job = await post(`${API}/analyses`, { file_id: fileRec.id, analyses: selected, params }, 'Starting the analysis');
      onStarted(fileRec, job);
    } catch (e) {
      say('error', h('strong', {}, 'The file was uploaded, but the analysis did not start. '), e.message);
    }
  }

  input.addEventListener('change', () => input.files[0] && start(input.files[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer.files;
    if (f.length > 1) return say('error', 'Drop one file at a time.');
    if (f.length) start(f[0]);
  });
}
