// objects.js: the view of the objects analysis (COCO object detection).
// Given the job's results and the page's one player, it adds
//   - an Objects panel: one row per label (most-seen first) with how many
//     samples show it and the most seen at once, a strip where each time
//     range the label is seen sits at its place in the video, and the
//     ranges as buttons; a click on either plays the range from its start;
//   - a switch to the annotated video (objects.mp4) when the run wrote it.
// Data: results.objects; see docs/objects.md. A malformed value draws
// nothing rather than breaking the page.

import { fileContentUrl } from './api.js';
import { seekTo, shortTime, viewSwitch } from './player.js';
import { fmtTimecode, h } from './util.js';

const num = (x) => Number.isFinite(x);

function labelsOf(r) {
  if (!r || !Array.isArray(r.labels)) return [];
  return r.labels
    .filter((l) => l && typeof l.label === 'string' && Array.isArray(l.ranges))
    .map((l) => ({ ...l, ranges: l.ranges.filter((x) => x && num(x.start) && num(x.end)) }));
}

// The video's length as the result knows it: the last range's end, or one
// sampling interval past the last sample.
function lengthOf(r, labels, video) {
  const times = (r.timeline && Array.isArray(r.timeline.times)) ? r.timeline.times.filter(num) : [];
  const last = times.length ? times[times.length - 1] + (num(r.fps) && r.fps > 0 ? 1 / r.fps : 0) : 0;
  const ends = labels.flatMap((l) => l.ranges.map((x) => x.end));
  return Math.max(last, ...ends, num(video.duration) ? video.duration : 0, 0);
}

function rangeButton(video, label, x) {
  return h('button', { type: 'button', class: 'time', title: `Play ${label} from ${fmtTimecode(x.start)}`,
    onclick: () => seekTo(video, x.start) },
  `${shortTime(x.start)}–${shortTime(x.end)}` + (x.max_count > 1 ? ` (${x.max_count})` : ''));
}

// One label's ranges placed along the video's length. A picture for the
// mouse: the range buttons beside it do the same, so the strip is left out
// of the Tab order and of what a screen reader reads (each range was two
// stops in a row).
function strip(video, label, ranges, total) {
  return h('div', { class: 'objects-strip', 'aria-hidden': 'true',
    style: { position: 'relative', height: '0.9em', background: 'rgba(127,127,127,0.15)', margin: '0.2em 0' } },
  ranges.map((x) => h('button', { type: 'button', class: 'objects-range', title: `${label} ${shortTime(x.start)}–${shortTime(x.end)}`,
    tabindex: -1, onclick: () => seekTo(video, x.start),
    style: { position: 'absolute', top: 0, bottom: 0, padding: 0, border: 0, background: '#4c78a8',
      left: `${(100 * x.start) / total}%`, width: `max(2px, ${(100 * (x.end - x.start)) / total}%)` } })));
}

function renderObjects(r, video) {
  const labels = labelsOf(r);
  const total = lengthOf(r, labels, video) || 1;
  const facts = num(r.sampled_frames)
    ? `${labels.length} label${labels.length === 1 ? '' : 's'} in ${num(r.frames_with_objects) ? r.frames_with_objects : '?'}` +
      ` of ${r.sampled_frames} sampled frames` + (num(r.fps) ? ` (${r.fps} per second)` : '') +
      (num(r.min_score) ? `, score at least ${r.min_score}` : '') + (r.model ? `, ${r.model}.` : '.')
    : 'No object data.';
  return h('section', { class: 'panel', 'aria-labelledby': 'ob-h' },
    h('h2', { id: 'ob-h' }, 'Objects'),
    h('p', { class: 'facts', id: 'objects-facts' }, facts),
    labels.length ? h('p', { class: 'hint' }, 'Choose a time range to play it.') : h('p', { class: 'hint' }, 'No objects were found.'),
    labels.length ? h('ul', { class: 'objects', id: 'objects-labels', 'aria-label': 'Objects, most seen first' },
      labels.map((l) => h('li', { dataset: { label: l.label } },
        h('strong', {}, l.label), ' ',
        h('span', { class: 'hint' }, `in ${l.samples} sample${l.samples === 1 ? '' : 's'}` +
          (num(l.fraction) ? ` (${Math.round(100 * l.fraction)}%)` : '') +
          (num(l.max_count) && l.max_count > 1 ? `, up to ${l.max_count} at once` : '')),
        strip(video, l.label, l.ranges, total),
        h('span', { class: 'ranges' }, l.ranges.map((x) => [rangeButton(video, l.label, x), ' ']))))) : null);
}

/*
 * Adds the objects view to the page: a panel into `box`, the switch to the
 * annotated video onto the player section. Returns true if it drew anything.
 */
export function renderObjectViews({ box, player, video, job, results, artifacts }) {
  const r = results.objects;
  if (!r || typeof r !== 'object') return false;
  const ann = (r.annotated && r.annotated.file) || 'objects.mp4';
  if (/\.mp4$/i.test(ann) && artifacts.has(ann))
    player.append(h('p', { class: 'annotated' }, viewSwitch(video, fileContentUrl(job.file_id), {
      id: 'objects-toggle', url: artifacts.get(ann), show: 'Show object boxes', name: 'objects' }),
    ' ', h('span', { class: 'hint' }, 'The annotated video boxes and names each object found.')));
  box.append(renderObjects(r, video));
  return true;
}
