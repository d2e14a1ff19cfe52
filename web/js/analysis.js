// analysis.js: one analysis job. While it runs, progress arrives live over
// Server-Sent Events (/events); the page never polls on a timer. When the job
// ends, the page fetches it once more and shows the results: the video, a
// timeline of scenes that seeks the player, the scene table and downloads.

import { API, artifactUrl, del, eventsUrl, fileContentUrl, get, sentence } from './api.js';
import { FACE_ANALYSES, renderFaceViews } from './faces.js';
import { MEDIA_ANALYSES, renderMediaViews } from './media.js';
import { renderObjectViews } from './objects.js';
import { renderDupViews } from './dup.js';
import { renderStorylineViews } from './storylines.js';
import { fileFacts, stateBadge } from './library.js';
import { seekTo } from './player.js';
import { clear, fmtBytes, fmtDuration, fmtEta, fmtTimecode, h, pct } from './util.js';

// 'deleted' is what the event stream says when the job vanished under it.
const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'deleted']);

/*
 * Artifact names → URLs, whatever shape the API gives: {analysis: [names]},
 * {analysis: [{name, url}]}, [names], or {name: url}. The server's own URL
 * wins; otherwise /api/v1/analyses/{id}/artifacts/{name}.
 */
export function artifactMap(jobId, ...sources) {
  const out = new Map();
  const add = (name, url) => {
    if (typeof name !== 'string' || !name) return;
    if (!out.has(name) || url) out.set(name, url || artifactUrl(jobId, name));
  };
  const walk = (v, key) => {
    if (!v) return;
    if (typeof v === 'string') {
      // {name: url} or a bare name in a list
      if (key && v.includes('/')) add(key, v);
      else add(v, null);
    } else if (Array.isArray(v)) v.forEach((x) => walk(x, null));
    else if (typeof v === 'object') {
      if (typeof v.name === 'string') add(v.name, v.url || v.href || null);
      else for (const [k, x] of Object.entries(v)) walk(x, k);
    }
  };
  sources.forEach((s) => walk(s, null));
  return out;
}

function resultParts(job) {
  const res = job.result || {};
  const results = res.results || (res.scenes || res.probe ? res : {}) || {};
  // The job's own artifact list (with URLs) is authoritative; the runner's
  // per-analysis lists inside the result are the fallback.
  const arts = Array.isArray(job.artifacts) && job.artifacts.length
    ? artifactMap(job.id, job.artifacts) : artifactMap(job.id, res.artifacts);
  return { results, artifacts: arts, warnings: res.warnings || job.warnings || [] };
}

function scenesOf(results) {
  const s = results.scenes;
  if (Array.isArray(s)) return s;
  return s && Array.isArray(s.scenes) ? s.scenes : null;
}

// Workers read the upload from the blob store, so their messages may name
// the stored path (…/blobs/ab/<sha256>); a person knows the file by its name.
function readableError(msg, file) {
  const name = file.filename ? `“${file.filename}”` : 'the file';
  return String(msg).replace(/\S*\/blobs\/[0-9a-f]{2}\/[0-9a-f]{64}/g, name);
}

function jobNames(job) {
  const a = job.analyses || (job.request && job.request.analyses) || [];
  return Array.isArray(a) ? a : [];
}

// ---- results ---------------------------------------------------------------

function renderPlayerAndScenes(job, file, scenes, artifacts) {
  const video = h('video', { id: 'player', controls: true, preload: 'metadata', src: fileContentUrl(job.file_id),
    'aria-label': `Video: ${file.filename || job.file_id}` });
  const total = Math.max(
    fileFacts(file).duration || 0,
    ...scenes.map((s) => s.end_time || 0),
  ) || 1;

  const seek = (s) => {
    video.currentTime = s.start_time;
    mark(s.index);
  };
  const segs = scenes.map((s, i) => {
    const label = `Scene ${s.index}: ${s.start_timecode || fmtTimecode(s.start_time)} to ` +
      `${s.end_timecode || fmtTimecode(s.end_time)}`;
    return h('button', {
      type: 'button', class: `seg seg-${i % 6}`, title: label, 'aria-label': label,
      dataset: { index: s.index, start: s.start_time },
      style: { left: `${(100 * s.start_time) / total}%`, width: `${(100 * (s.end_time - s.start_time)) / total}%` },
      onclick: () => seek(s),
    }, h('span', { 'aria-hidden': 'true' }, String(s.index)));
  });
  const playhead = h('div', { class: 'playhead', 'aria-hidden': 'true' });
  const timeline = h('div', { class: 'timeline', id: 'timeline', role: 'group', 'aria-label': 'Scenes on a timeline; choose one to play from its start' }, segs, playhead);

  const clipFor = (s) => {
    const n = String(s.index).padStart(3, '0');
    for (const [name, url] of artifacts) if (new RegExp(`^(clip|scene)-0*${s.index}\\.(mp4|mkv|mov|webm|ts|avi)$`).test(name) || name.startsWith(`clip-${n}.`)) return [name, url];
    return null;
  };
  const rows = scenes.map((s) => {
    const thumb = s.thumbnail && artifacts.has(s.thumbnail) ? artifacts.get(s.thumbnail)
      : s.thumbnail ? artifactUrl(job.id, s.thumbnail) : null;
    const clip = clipFor(s);
    return h('tr', { dataset: { index: s.index } },
      h('td', { class: 'num' }, String(s.index)),
      h('td', {}, thumb ? h('button', { type: 'button', class: 'thumb-btn', onclick: () => seek(s),
        'aria-label': `Play scene ${s.index}` },
      h('img', { src: thumb, alt: `First frame of scene ${s.index}`, loading: 'lazy', width: 128, height: 72 })) : '—'),
      h('td', {}, s.start_timecode || fmtTimecode(s.start_time)),
      h('td', {}, s.end_timecode || fmtTimecode(s.end_time)),
      h('td', { class: 'num' }, `${(s.duration ?? s.end_time - s.start_time).toFixed(2)} s`),
      h('td', { class: 'num' }, `${s.start_frame}–${s.end_frame}`),
      h('td', {}, h('button', { type: 'button', class: 'button small', onclick: () => seek(s) }, 'Play'),
        clip ? [' ', h('a', { href: clip[1], download: clip[0], class: 'button small' }, 'Clip')] : null));
  });
  const table = h('table', { class: 'scenes', id: 'scene-table' },
    h('caption', {}, `${scenes.length} scene${scenes.length === 1 ? '' : 's'}`),
    h('thead', {}, h('tr', {}, ['#', 'Thumbnail', 'Start', 'End', 'Length', 'Frames', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows));

  let current = null;
  function mark(index) {
    if (index === current) return;
    current = index;
    for (const b of segs) b.classList.toggle('active', Number(b.dataset.index) === index);
    for (const r of rows) r.classList.toggle('active', Number(r.dataset.index) === index);
  }
  video.addEventListener('timeupdate', () => {
    const t = video.currentTime;
    playhead.style.left = `${Math.min(100, (100 * t) / total)}%`;
    const s = scenes.find((x) => t >= x.start_time && t < x.end_time);
    if (s) mark(s.index);
  });
  return { video, timeline, table };
}

function renderDownloads(job, artifacts) {
  const links = [];
  const byExt = (re) => [...artifacts].filter(([n]) => re.test(n));
  const jsonArt = byExt(/\.json$/i);
  links.push(jsonArt.length
    ? jsonArt.map(([n, u]) => h('a', { href: u, download: n, class: 'button' }, `${n} (JSON)`))
    : h('a', { href: `${API}/analyses/${encodeURIComponent(job.id)}`, download: `analysis-${job.id}.json`, class: 'button' },
      'Results (JSON)'));
  for (const [n, u] of byExt(/\.csv$/i)) links.push(h('a', { href: u, download: n, class: 'button' }, `${n} (CSV)`));
  for (const [n, u] of byExt(/\.edl$/i)) links.push(h('a', { href: u, download: n, class: 'button' }, `${n} (EDL)`));
  // faces.mp4, pose.mp4 and objects.mp4 are the whole video annotated
  // (js/faces.js, js/media.js, js/objects.js play them), not clips.
  const whole = /^(faces|pose|objects)\.mp4$/i;
  const annotated = byExt(whole);
  for (const [n, u] of annotated) links.push(h('a', { href: u, download: n, class: 'button' }, `${n} (annotated video)`));
  const clips = byExt(/\.(mp4|mkv|mov|webm|ts|avi)$/i).filter(([n]) => !whole.test(n));
  const other = [...artifacts].filter(([n]) => !/\.(json|csv|edl|mp4|mkv|mov|webm|ts|avi|jpe?g|png|webp)$/i.test(n));
  return h('section', { class: 'panel downloads', 'aria-labelledby': 'dl-h' },
    h('h2', { id: 'dl-h' }, 'Downloads'),
    h('div', { class: 'links', id: 'downloads' }, links),
    clips.length ? h('details', { class: 'clips' }, h('summary', {}, `Clips, one per scene (${clips.length})`),
      h('ul', { class: 'clip-list' }, clips.map(([n, u]) => h('li', {}, h('a', { href: u, download: n }, n))))) : null,
    other.length ? h('details', {}, h('summary', {}, `Other files (${other.length})`),
      h('ul', {}, other.map(([n, u]) => h('li', {}, h('a', { href: u, download: n }, n))))) : null);
}

function renderProbe(p) {
  const v = p.video || {}, a = p.audio || {};
  const rows = [
    ['Container', p.container_long || p.container],
    ['Duration', Number.isFinite(p.duration) ? `${fmtDuration(p.duration)} (${p.duration.toFixed(3)} s)` : null],
    ['Size', Number.isFinite(p.size) ? fmtBytes(p.size) : null],
    ['Video', v.codec ? `${v.codec}, ${v.display_width || v.width}×${v.display_height || v.height}` +
      (v.avg_frame_rate ? `, ${Number(v.avg_frame_rate).toFixed(3).replace(/\.?0+$/, '')} fps` : '') +
      (v.frames ? `, ${v.frames} frames` : '') + (v.rotation ? `, rotated ${v.rotation}°` : '') : 'none'],
    ['Audio', a.codec ? `${a.codec}, ${a.channels} ch, ${a.sample_rate} Hz` : 'none'],
  ].filter(([, x]) => x);
  return h('dl', { class: 'facts-list' }, rows.map(([k, x]) => [h('dt', {}, k), h('dd', {}, x)]));
}

// Analyses that have a view above; every other result is shown as data.
const VIEWED = new Set(['probe', 'scenes', ...FACE_ANALYSES, ...MEDIA_ANALYSES, 'objects', 'duplicates',
  'storylines']);

function renderResults(box, job, file, t) {
  const { results, artifacts, warnings } = resultParts(job);
  const scenes = scenesOf(results);
  clear(box);
  if (warnings.length)
    box.append(h('div', { class: 'notice warn' }, h('strong', {}, 'Finished with warnings: '),
      h('ul', {}, warnings.map((w) => h('li', {}, typeof w === 'string' ? w : w.message || JSON.stringify(w))))));
  let video, player;
  if (scenes) {
    let timeline, table;
    ({ video, timeline, table } = renderPlayerAndScenes(job, file, scenes, artifacts));
    player = h('section', { class: 'panel player', 'aria-labelledby': 'pl-h' },
      h('h2', { id: 'pl-h' }, 'Video and scenes'), video, timeline,
      h('p', { class: 'hint' }, 'Choose a scene on the timeline or in the table to play it from its first frame.'));
    box.append(player);
    box.append(h('section', { class: 'panel', 'aria-labelledby': 'sc-h' }, h('h2', { id: 'sc-h' }, 'Scenes'),
      h('div', { class: 'table-wrap' }, table)));
  } else {
    video = h('video', { id: 'player', controls: true, preload: 'metadata', src: fileContentUrl(job.file_id),
      'aria-label': `Video: ${file.filename || job.file_id}` });
    player = h('section', { class: 'panel player', 'aria-labelledby': 'pl-h' }, h('h2', { id: 'pl-h' }, 'Video'), video);
    box.append(player);
  }
  // Opened at a moment (a search hit: ?t=): the player starts there.
  if (Number.isFinite(t)) {
    if (video.readyState >= 1) seekTo(video, t);
    else video.addEventListener('loadedmetadata', () => seekTo(video, t), { once: true });
  }
  // Storylines: the scenes grouped, each scene a button (js/storylines.js).
  renderStorylineViews({ box, video, results, scenes });
  // Faces, emotions and people: a track under the timeline, the annotated
  // video, the emotion chart and the people gallery (js/faces.js).
  const total = Math.max(fileFacts(file).duration || 0, ...(scenes || []).map((s) => s.end_time || 0));
  renderFaceViews({ box, player, video, job, results, artifacts, total });
  // Transcript, on-screen text, sound and pose (js/media.js).
  renderMediaViews({ box, player, video, job, results, artifacts });
  // Objects: labels with their time ranges (js/objects.js).
  renderObjectViews({ box, player, video, job, results, artifacts });
  // Duplicate check: verdict, matches, hard cases (js/dup.js).
  renderDupViews({ box, results });
  // The upload already probed the file: show its facts even when no probe
  // analysis ran.
  const probe = results.probe && typeof results.probe === 'object' ? results.probe : file.probe;
  if (probe && typeof probe === 'object')
    box.append(h('section', { class: 'panel', 'aria-labelledby': 'mf-h' }, h('h2', { id: 'mf-h' }, 'Media facts'),
      renderProbe(probe),
      results.probe ? h('details', {}, h('summary', {}, 'All probe fields'), h('pre', {}, JSON.stringify(probe, null, 2))) : null));
  // Analyses without a view of their own (fingerprint, new ones) show their data in one panel. Those drawn above are left out: a
  // second, raw copy of each under its bare name read as a list of empty
  // panels at the foot of the page.
  const other = Object.entries(results).filter(([name]) => !(VIEWED.has(name) && (name !== 'scenes' || scenes)) &&
    !(name === 'clips' && [...artifacts.keys()].some((n) => /^clip-/.test(n))));
  if (other.length)
    box.append(h('section', { class: 'panel', 'aria-labelledby': 'or-h', id: 'other-results' },
      h('h2', { id: 'or-h' }, 'Other results'),
      other.map(([name, value]) => h('details', { class: 'raw-result', dataset: { analysis: name } },
        h('summary', {}, `${name}: result data`), h('pre', {}, JSON.stringify(value, null, 2))))));
  box.append(renderDownloads(job, artifacts));
}

// ---- the page --------------------------------------------------------------

// Renders analysis `id` into root; opts.t (seconds) starts the player there.
// Returns a function that stops live updates.
export async function renderAnalysis(root, id, opts = {}) {
  let es = null;
  let stopped = false;
  const stop = () => {
    stopped = true;
    if (es) es.close();
  };

  let job;
  try {
    job = await get(`${API}/analyses/${encodeURIComponent(id)}`, 'Loading the analysis');
  } catch (e) {
    root.append(h('section', { class: 'panel' }, h('h1', {}, 'Analysis not available'),
      h('p', { class: 'notice error' }, e.message), h('p', {}, h('a', { href: '#/' }, 'Back to the library'))));
    return stop;
  }
  let file = { id: job.file_id };
  try {
    file = await get(`${API}/files/${encodeURIComponent(job.file_id)}`, 'Loading the file');
  } catch {
    /* the header falls back to the id */
  }

  const badge = h('span', { id: 'job-state' });
  const bar = h('progress', { id: 'job-progress', max: 100, value: 0, 'aria-label': 'Analysis progress' });
  const stage = h('p', { id: 'job-stage', class: 'stage', 'aria-live': 'polite' });
  const cancel = h('button', { type: 'button', class: 'button danger' }, 'Cancel analysis');
  const progressBox = h('section', { class: 'panel progress', 'aria-labelledby': 'pr-h' },
    h('h2', { id: 'pr-h' }, 'Progress'), bar, stage, h('p', {}, cancel));
  const outcome = h('div', { id: 'job-outcome', role: 'status' });
  const results = h('div', { id: 'results' });
  const names = jobNames(job);
  root.append(h('section', { class: 'panel head' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Library'), ' / analysis'),
    h('h1', {}, file.filename || job.file_id, ' ', badge),
    h('p', { class: 'facts' }, names.length ? `Analyses: ${names.join(', ')}` : '',
      Number.isFinite(file.size) ? ` · ${fmtBytes(file.size)}` : '')),
  progressBox, outcome, results);

  let firstProgress = null;
  function show(j) {
    clear(badge).append(stateBadge(j.status, j.progress));
    const p = Number.isFinite(j.progress) ? j.progress : 0;
    bar.value = Math.round(p * 1000) / 10;
    let text = j.status === 'queued' ? 'Waiting for a free worker…' : `${pct(p)}${j.stage ? ` · ${j.stage}` : ''}`;
    if (j.status === 'running' && p > 0) {
      if (!firstProgress) firstProgress = { t: performance.now(), p };
      const dt = (performance.now() - firstProgress.t) / 1000, dp = p - firstProgress.p;
      if (dt > 2 && dp > 0.01) text += ` · ${fmtEta((dt * (1 - p)) / dp)} left`;
    }
    stage.textContent = text;
  }

  async function finish() {
    stop();
    try {
      job = await get(`${API}/analyses/${encodeURIComponent(id)}`, 'Loading the results');
    } catch (e) {
      progressBox.hidden = true;
      if (e.status === 404) e.message = 'This analysis was deleted, so there are no results to show.';
      clear(outcome).append(h('p', { class: 'notice error' }, e.message));
      return;
    }
    show(job);
    progressBox.hidden = true;
    clear(outcome);
    if (job.status === 'succeeded') {
      outcome.append(h('p', { class: 'notice ok' }, 'The analysis is finished.'));
      renderResults(results, job, file, opts.t);
    } else if (job.status === 'failed') {
      outcome.append(h('div', { class: 'notice error', id: 'job-error' }, h('strong', {}, 'The analysis failed. '),
        job.error ? `vidan said: ${sentence(readableError(job.error, file))}` : 'The server gave no reason.',
        job.attempts > 1 ? ` (It was tried ${job.attempts} times.)` : '',
        ' You can start it again from the ', h('a', { href: '#/' }, 'library'), '.'));
    } else if (job.status === 'canceled') {
      outcome.append(h('p', { class: 'notice info' }, 'This analysis was canceled before it finished.'));
    }
  }

  cancel.addEventListener('click', async () => {
    if (!confirm('Stop this analysis? Its partial results are discarded.')) return;
    cancel.disabled = true;
    try {
      await del(`${API}/analyses/${encodeURIComponent(id)}`, 'Canceling the analysis');
      stop();
      location.hash = '#/';
    } catch (e) {
      cancel.disabled = false;
      clear(outcome).append(h('p', { class: 'notice error' }, e.message));
    }
  });

  show(job);
  if (TERMINAL.has(job.status)) {
    await finish();
    return stop;
  }

  // Live progress. Any event whose data is a job-like JSON object updates the
  // view; a terminal status ends the stream. When the connection drops (the
  // server closes it at the end, or restarts), one GET tells whether the job
  // has ended; if not, EventSource reconnects by itself.
  const onData = (ev) => {
    if (!ev.data) return;
    let d;
    try {
      d = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (!d || typeof d !== 'object') return;
    job = { ...job, ...d, id: job.id, file_id: job.file_id };
    show(job);
    if (TERMINAL.has(job.status) || ev.type === 'end' || ev.type === 'done') finish();
  };
  es = new EventSource(eventsUrl(id));
  for (const t of ['message', 'progress', 'status', 'state', 'end', 'done', 'result']) es.addEventListener(t, onData);
  es.addEventListener('error', async (ev) => {
    if (ev.data) return onData(ev);
    if (stopped) return;
    try {
      const j = await get(`${API}/analyses/${encodeURIComponent(id)}`, 'Checking the analysis');
      if (TERMINAL.has(j.status)) return finish();
      show(j);
    } catch (e) {
      stage.textContent = `${stage.textContent.split(' — ')[0]} — ${e.message} Retrying…`;
    }
  });
  return stop;
}
