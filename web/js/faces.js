// faces.js: the views of the face analyses (issue 4). Given the job's
// results and the page's one player, it adds
//   - a faces-and-people track under the scene timeline: one segment per
//     appearance, one colour per person, a click seeks the player;
//   - a switch between the uploaded video and the annotated one (faces.mp4,
//     every face circled), in the same player, at the same time;
//   - an emotion chart over time (uPlot, from web/vendor/ when scripts/web-deps
//     installed it; without it a note and the whole-video shares as text);
//   - a people gallery: a card per person with a picture (the thumbnail
//     artifact, else a crop of the video at the representative box) and the
//     appearances, each of which seeks the player.
// Data: results.faces (tracks with ranges and boxes), results.emotions
// (timeline.series per label, summary.share) and results.people (people with
// appearances, representative_box, thumbnail); see src/analyze/{faces,
// emotions,people}.c. Every part is optional: what is missing is not drawn.

import { fileContentUrl } from './api.js';
import { seekTo, shortTime, timeChart, viewSwitch } from './player.js';
import { fmtTimecode, h } from './util.js';

const PERSON_COLOURS = 8;

// One list of people whatever ran: people's clusters, or else each face
// track as its own "person" (faces without people).
function peopleOf(results) {
  const p = results.people;
  if (p && Array.isArray(p.people)) {
    return p.people.map((x, i) => ({
      id: Number.isFinite(x.id) ? x.id : i,
      appearances: (x.appearances || []).filter((a) => Number.isFinite(a.start) && Number.isFinite(a.end)),
      box: x.representative_box || null,
      thumbnail: typeof x.thumbnail === 'string' ? x.thumbnail : null,
      screenTime: x.screen_time,
      tracks: x.tracks || [],
    }));
  }
  const f = results.faces;
  if (f && Array.isArray(f.tracks)) {
    return f.tracks.map((t, i) => {
      const boxes = Array.isArray(t.boxes) ? t.boxes : [];
      const best = boxes.reduce((b, x) => (!b || (x.score || 0) > (b.score || 0) ? x : b), null);
      return {
        id: Number.isFinite(t.id) ? t.id : i,
        appearances: (t.ranges || [{ start: t.start, end: t.end }])
          .filter((a) => Number.isFinite(a.start) && Number.isFinite(a.end)),
        box: best,
        thumbnail: typeof t.thumbnail === 'string' ? t.thumbnail : null,
        screenTime: null,
        tracks: [t.id],
        isTrack: true,
      };
    });
  }
  return [];
}

const personName = (p) => `${p.isTrack ? 'Face' : 'Person'} ${p.id + 1}`;


// ---- the faces-and-people track -------------------------------------------

function renderTrack(people, video, total) {
  const segs = [];
  people.forEach((p, pi) => {
    p.appearances.forEach((a, ai) => {
      const label = `${personName(p)}, appearance ${ai + 1}: ${fmtTimecode(a.start)} to ${fmtTimecode(a.end)}`;
      segs.push(h('button', {
        type: 'button', class: `pseg person-${pi % PERSON_COLOURS}`, title: label, 'aria-label': label,
        dataset: { person: p.id, start: a.start, end: a.end },
        style: {
          left: `${(100 * a.start) / total}%`, width: `${(100 * (a.end - a.start)) / total}%`,
          top: `${(100 * pi) / people.length}%`, height: `${100 / people.length}%`,
        },
        onclick: () => seekTo(video, a.start),
      }));
    });
  });
  const playhead = h('div', { class: 'playhead', 'aria-hidden': 'true' });
  video.addEventListener('timeupdate', () => {
    playhead.style.left = `${Math.min(100, (100 * video.currentTime) / total)}%`;
  });
  return h('div', { class: 'timeline faces-track', id: 'faces-track', role: 'group',
    'aria-label': 'Faces and people on a timeline, one row and colour per person; choose one to play from there' },
  segs, playhead);
}

// ---- the emotion chart ------------------------------------------------------

const EMOTION_COLOURS = {
  angry: '#e45756', disgust: '#54a24b', fear: '#b279a2', happy: '#f2b701',
  sad: '#4c78a8', surprise: '#f58518', neutral: '#9d9d9d',
};

function emotionData(em) {
  const tl = em && em.timeline;
  if (!tl || !Array.isArray(tl.times) || !tl.series || typeof tl.series !== 'object') return null;
  const labels = (Array.isArray(em.labels) ? em.labels : Object.keys(tl.series))
    .filter((l) => Array.isArray(tl.series[l]) && tl.series[l].length === tl.times.length);
  if (!labels.length || !tl.times.length) return null;
  return { times: tl.times, bucket: tl.bucket, labels, series: labels.map((l) => tl.series[l]) };
}

// The whole-video share per emotion, as words (and the chart's legend when
// there is no chart).
function renderShares(em) {
  const share = em && em.summary && em.summary.share;
  if (!share || typeof share !== 'object') return null;
  const items = Object.entries(share).filter(([, v]) => Number.isFinite(v)).sort((a, b) => b[1] - a[1]);
  return h('ul', { class: 'shares', id: 'emotion-shares', 'aria-label': 'Share of each emotion over the whole video' },
    items.map(([k, v]) => h('li', {},
      h('span', { class: 'swatch', style: { background: EMOTION_COLOURS[k] || 'var(--muted)' }, 'aria-hidden': 'true' }),
      `${k} ${(100 * v).toFixed(1)}%`)));
}

function renderEmotions(em, video) {
  const data = emotionData(em);
  const host = h('div', { class: 'chart', id: 'emotion-chart' });
  const summary = em && em.summary;
  const section = h('section', { class: 'panel', 'aria-labelledby': 'em-h' },
    h('h2', { id: 'em-h' }, 'Emotions over time'),
    summary && summary.dominant ? h('p', { class: 'facts' },
      `Mostly ${summary.dominant}, over ${summary.faces} face sighting${summary.faces === 1 ? '' : 's'}. `,
      data ? `Each point is the mean share over ${data.bucket || 1} s of all faces on screen.` : '',
      data ? h('span', { class: 'chart-hint' }, ' Choose a moment on the chart to play it.') : null)
      : null,
    data ? host : h('p', { class: 'hint' }, 'No faces were seen, so there is no emotion to chart.'),
    renderShares(em));
  if (!data) return { section, draw: () => {} };

  const draw = async () => {
    const chart = await timeChart(video, host, {
      height: 220, times: data.times, values: data.series,
      y: { range: [0, 1], values: (u, v) => v.map((x) => `${Math.round(x * 100)}%`) },
      series: data.labels.map((l) => ({
        label: l, stroke: EMOTION_COLOURS[l],
        value: (u, v) => (v == null ? '' : `${(100 * v).toFixed(1)}%`),
      })),
      missing: h('p', { class: 'notice info', id: 'emotion-chart-note' },
        'The chart is not installed on this server (run scripts/web-deps to put uPlot in web/vendor/); ' +
        'the shares below are for the whole video.'),
    });
    if (!chart) section.querySelector('.chart-hint')?.remove();
  };
  return { section, draw };
}

// ---- the people gallery -------------------------------------------------------

// Crops are drawn from a second, hidden video element so that the player is
// never moved; one seek at a time, in order.
function cropper(src) {
  let v = null;
  let chain = Promise.resolve();
  const once = (el, ev) => new Promise((resolve, reject) => {
    el.addEventListener(ev, resolve, { once: true });
    el.addEventListener('error', () => reject(new Error('video')), { once: true });
  });
  return (canvas, box) => {
    chain = chain.then(async () => {
      if (!v) {
        v = h('video', { muted: true, preload: 'auto', src });
        v.muted = true;
        await once(v, 'loadeddata');
      }
      const seeked = once(v, 'seeked');
      v.currentTime = Math.max(0, box.time || 0);
      await seeked;
      const W = v.videoWidth, H = v.videoHeight;
      // Some room around the face, as a square.
      const side = Math.max(box.w * W, box.h * H) * 1.4;
      const cx = (box.x + box.w / 2) * W, cy = (box.y + box.h / 2) * H;
      const sx = Math.max(0, Math.min(W - side, cx - side / 2)), sy = Math.max(0, Math.min(H - side, cy - side / 2));
      const g = canvas.getContext('2d');
      g.drawImage(v, sx, sy, Math.min(side, W), Math.min(side, H), 0, 0, canvas.width, canvas.height);
      canvas.dataset.drawn = 'true';
    }).catch(() => {
      canvas.dataset.drawn = 'false';
    });
    return chain;
  };
}

function renderGallery(people, video, artifacts, sourceUrl) {
  const crop = cropper(sourceUrl);
  const cards = people.map((p, pi) => {
    const name = personName(p);
    let pic;
    if (p.thumbnail && artifacts.has(p.thumbnail)) {
      pic = h('img', { class: 'face', src: artifacts.get(p.thumbnail), alt: `${name}'s face`, width: 96, height: 96 });
    } else if (p.box && [p.box.x, p.box.y, p.box.w, p.box.h].every(Number.isFinite)) {
      pic = h('canvas', { class: 'face', width: 96, height: 96, role: 'img', 'aria-label': `${name}'s face, from the video` });
      crop(pic, p.box);
    } else {
      pic = h('div', { class: 'face none', 'aria-hidden': 'true' }, '?');
    }
    const n = p.appearances.length;
    const onScreen = Number.isFinite(p.screenTime) ? p.screenTime
      : p.appearances.reduce((s, a) => s + (a.end - a.start), 0);
    return h('li', { class: `person-card person-${pi % PERSON_COLOURS}`, dataset: { person: p.id } },
      pic,
      h('div', { class: 'who' },
        h('h3', {}, name),
        h('p', { class: 'facts' }, `${n} appearance${n === 1 ? '' : 's'} · ${onScreen.toFixed(1)} s on screen`),
        h('ol', { class: 'appearances' }, p.appearances.map((a, ai) => h('li', {},
          h('button', {
            type: 'button', class: 'button small appearance', dataset: { start: a.start },
            'aria-label': `Play ${name}'s appearance ${ai + 1}, from ${fmtTimecode(a.start)}`,
            onclick: () => {
              seekTo(video, a.start);
              video.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
            },
          }, `${shortTime(a.start)}–${shortTime(a.end)}`,
          Array.isArray(a.scenes) && a.scenes.length ? ` (scene ${a.scenes.join(', ')})` : ''))))));
  });
  return h('section', { class: 'panel', 'aria-labelledby': 'pp-h' },
    h('h2', { id: 'pp-h' }, people.length && people[0].isTrack ? 'Faces' : 'People'),
    people.length
      ? h('ul', { class: 'gallery', id: 'people-gallery' }, cards)
      : h('p', { class: 'hint', id: 'people-gallery' }, 'Nobody was seen in this video.'));
}

// ---- entry ------------------------------------------------------------------

export const FACE_ANALYSES = ['faces', 'emotions', 'people'];

/*
 * Adds the face views to the page. `player` is the section holding `video`
 * (and the scene timeline, if any); the track goes at its end. `box` gets the
 * chart and the gallery. Returns true if it drew anything.
 */
export function renderFaceViews({ box, player, video, job, results, artifacts, total }) {
  if (!FACE_ANALYSES.some((n) => results[n])) return false;
  const people = peopleOf(results);
  const end = Math.max(total || 0, ...people.flatMap((p) => p.appearances.map((a) => a.end))) || 1;
  const originalUrl = fileContentUrl(job.file_id);

  if (results.faces || results.people) {
    player.append(h('h3', { class: 'track-h' }, 'Faces and people'),
      people.length ? renderTrack(people, video, end)
        : h('p', { class: 'hint', id: 'faces-track' }, 'No faces were found.'));
  }
  const annotated = (results.faces && results.faces.annotated && results.faces.annotated.file) || 'faces.mp4';
  if (artifacts.has(annotated))
    player.append(h('p', { class: 'annotated' }, viewSwitch(video, originalUrl, {
      id: 'annotated-toggle', url: artifacts.get(annotated), show: 'Show faces circled', name: 'annotated' }),
      ' ', h('span', { class: 'hint' }, 'The annotated video circles every face with its track and emotion.')));

  // Who is in the video first, then how they look over time.
  if (results.faces || results.people) box.append(renderGallery(people, video, artifacts, originalUrl));
  let chart = null;
  if (results.emotions) {
    chart = renderEmotions(results.emotions, video);
    box.append(chart.section);
  }
  // The chart sizes itself to its box, so it is drawn once the box is laid out.
  if (chart) requestAnimationFrame(() => chart.draw());
  return true;
}
