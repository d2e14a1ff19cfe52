// media.js: the views of the sound, speech, on-screen text and pose
// analyses. Given the job's results and the page's one player, it adds
//   - a Transcript panel: each segment with its time (a click plays it),
//     SRT / WebVTT / text downloads, and the WebVTT as captions on the player;
//   - an On-screen text panel: each stretch of text with its time range;
//   - a Sound panel: loudness, tempo and the compat-B features, and a chart
//     of short-term loudness over time that follows the player;
//   - a Pose panel and a switch to the labelled video (pose.mp4).
// Data: results.transcript, results.text, results.audio, results.pose; see
// docs/{transcript,text,audio,pose}.md. Every part is optional: what is
// missing is not drawn, and a malformed value draws nothing rather than
// breaking the page.

import { fileContentUrl } from './api.js';
import { seekTo, shortTime, timeChart, viewSwitch } from './player.js';
import { fmtTimecode, h } from './util.js';

const num = (x) => Number.isFinite(x);

// A list of timed lines, each a button that plays its moment.
function timedList(id, label, items, video) {
  return h('ol', { class: 'timed', id, 'aria-label': label },
    items.map((it) => h('li', {},
      h('button', { type: 'button', class: 'time', title: `Play from ${fmtTimecode(it.start)}`,
        onclick: () => seekTo(video, it.start) }, shortTime(it.start)),
      ' ', h('span', { class: 'text' }, it.text))));
}

function segmentsOf(r) {
  if (!r || !Array.isArray(r.segments)) return [];
  return r.segments
    .filter((s) => s && num(s.start) && typeof s.text === 'string' && s.text.trim())
    .map((s) => ({ start: s.start, end: num(s.end) ? s.end : s.start, text: s.text.trim() }));
}

// ---- transcript ---------------------------------------------------------------

function renderTranscript(tr, video, artifacts) {
  const segs = segmentsOf(tr);
  const downloads = [['transcript.srt', 'SRT'], ['transcript.vtt', 'WebVTT'], ['transcript.txt', 'text']]
    .filter(([n]) => artifacts.has(n))
    .map(([n, kind]) => h('a', { href: artifacts.get(n), download: n, class: 'button' }, `${n} (${kind})`));
  // Captions on the player from the WebVTT, shown by default.
  if (artifacts.has('transcript.vtt') && !video.querySelector('track')) {
    video.append(h('track', { kind: 'captions', label: 'Transcript', srclang: (tr && tr.language) || 'en',
      src: artifacts.get('transcript.vtt'), default: true }));
  }
  return h('section', { class: 'panel', 'aria-labelledby': 'tr-h' },
    h('h2', { id: 'tr-h' }, 'Transcript'),
    segs.length ? h('p', { class: 'facts' },
      `${segs.length} segment${segs.length === 1 ? '' : 's'}` +
      (num(tr.words_count) ? `, ${tr.words_count} words` : '') +
      (tr.language ? `, language ${tr.language}` : '') + '. Choose a line to play it.')
      : h('p', { class: 'hint' }, 'No speech was recognised.'),
    segs.length ? timedList('transcript', 'Transcript, one line per segment', segs, video) : null,
    downloads.length ? h('div', { class: 'links', id: 'transcript-downloads' }, downloads) : null);
}

// ---- on-screen text ----------------------------------------------------------

function renderText(tx, video) {
  const segs = segmentsOf(tx);
  return h('section', { class: 'panel', 'aria-labelledby': 'tx-h' },
    h('h2', { id: 'tx-h' }, 'On-screen text'),
    segs.length ? timedList('screen-text', 'Text seen on screen, with when it appears',
      segs.map((s) => ({ ...s, text: `${s.text} (until ${shortTime(s.end)})` })), video)
      : h('p', { class: 'hint' }, 'No text was read on screen.'));
}

// ---- sound ------------------------------------------------------------------------

function fmt(x, digits, unit) {
  return num(x) ? `${x.toFixed(digits)}${unit}` : 'n/a';
}

function renderAudio(au, video) {
  const l = (au && au.loudness) || {};
  const facts = [
    ['Loudness', `${fmt(l.integrated_lufs, 1, ' LUFS')} integrated, range ${fmt(l.range_lu, 1, ' LU')}, ` +
      `true peak ${fmt(l.true_peak_dbtp, 1, ' dBTP')}`],
    ['Tempo', num(au.tempo) && au.tempo > 0 ? `${au.tempo.toFixed(1)} BPM` : 'no steady beat'],
    ['Spectral centroid', fmt(au.spectral_centroid_mean, 0, ' Hz')],
    ['RMS energy', fmt(au.rms_energy, 4, '')],
    ['Zero-crossing rate', fmt(au.zero_crossing_rate, 4, ' per sample')],
    ['Silence', num(au.silence_ratio) ? `${(100 * au.silence_ratio).toFixed(1)}% of the time` : 'n/a'],
  ];
  const tl = au && au.timeline;
  const ys = tl && tl.series && tl.series.loudness_shortterm;
  const ok = tl && Array.isArray(tl.times) && Array.isArray(ys) && ys.length === tl.times.length &&
    ys.some(num);
  const host = h('div', { class: 'chart', id: 'loudness-chart' });
  const section = h('section', { class: 'panel', 'aria-labelledby': 'au-h' },
    h('h2', { id: 'au-h' }, 'Sound'),
    h('dl', { class: 'facts-list', id: 'audio-facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    ok ? h('h3', {}, 'Short-term loudness over time') : null,
    ok ? host : null);
  const draw = async () => {
    if (!ok) return;
    await timeChart(video, host, {
      height: 180, times: tl.times, values: [ys.map((v) => (num(v) ? v : null))],
      y: { size: 70, values: (u, v) => v.map((x) => `${x} LUFS`) },
      series: [{ label: 'short-term loudness', stroke: '#4c78a8', spanGaps: false,
        value: (u, v) => (v == null ? 'silent' : `${v.toFixed(1)} LUFS`) }],
      missing: h('p', { class: 'notice info' },
        'The chart is not installed on this server (run scripts/web-deps to put uPlot in web/vendor/).'),
    });
  };
  return { section, draw };
}

// ---- pose ---------------------------------------------------------------------------

function renderPose(po) {
  const seen = po && po.keypoint_mean_scores && typeof po.keypoint_mean_scores === 'object'
    ? Object.entries(po.keypoint_mean_scores).filter(([, v]) => num(v)).sort((a, b) => b[1] - a[1]) : [];
  return h('section', { class: 'panel', 'aria-labelledby': 'po-h' },
    h('h2', { id: 'po-h' }, 'Pose'),
    h('p', { class: 'facts', id: 'pose-facts' },
      num(po.sampled_frames) && num(po.frames_with_person)
        ? `A person in ${po.frames_with_person} of ${po.sampled_frames} sampled frames` +
          (num(po.fps) ? ` (${po.fps} per second)` : '') + (po.model ? `, ${po.model}.` : '.')
        : 'No pose data.'),
    seen.length ? h('details', {}, h('summary', {}, 'How well each body part was seen'),
      h('ul', { class: 'shares' }, seen.map(([k, v]) => h('li', {}, `${k.replace(/_/g, ' ')} ${(100 * v).toFixed(0)}%`))))
      : null);
}

export const MEDIA_ANALYSES = ['transcript', 'text', 'audio', 'pose'];

/*
 * Adds these views to the page: panels into `box`, captions and the pose
 * switch onto the player section. Returns true if it drew anything.
 */
export function renderMediaViews({ box, player, video, job, results, artifacts }) {
  if (!MEDIA_ANALYSES.some((n) => results[n])) return false;
  if (results.transcript) box.append(renderTranscript(results.transcript, video, artifacts));
  if (results.text) box.append(renderText(results.text, video));
  let chart = null;
  if (results.audio && typeof results.audio === 'object') {
    chart = renderAudio(results.audio, video);
    box.append(chart.section);
  }
  if (results.pose && typeof results.pose === 'object') {
    const labelled = (results.pose.labelled && results.pose.labelled.file) || 'pose.mp4';
    if (/\.mp4$/i.test(labelled) && artifacts.has(labelled))
      player.append(h('p', { class: 'annotated' }, viewSwitch(video, fileContentUrl(job.file_id), {
        id: 'pose-toggle', url: artifacts.get(labelled), show: 'Show the skeleton', name: 'pose' }),
      ' ', h('span', { class: 'hint' }, 'The labelled video draws each body part the pose model found.')));
    box.append(renderPose(results.pose));
  }
  // Charts size themselves to their box, so they are drawn once it is laid out.
  if (chart) requestAnimationFrame(() => chart.draw());
  return true;
}
