// storylines.js: the view of the storylines analysis (scenes grouped by
// what they share). Given the job's results and the page's one player, it
// adds a Storylines panel: one entry per storyline with its name, the
// analysis's factual description, its total duration and span, and its
// scenes as buttons that play each scene from its start. Scene times come
// from the scenes result (storylines depends on it); a storyline whose
// scene is missing there still lists the scene, without a button.
// Data: results.storylines; see docs/storylines.md. A malformed value draws
// nothing rather than breaking the page.

import { seekTo, shortTime } from './player.js';
import { h } from './util.js';

const num = (x) => Number.isFinite(x);

function storylinesOf(r) {
  if (!r || !Array.isArray(r.storylines)) return [];
  return r.storylines.filter((s) => s && Array.isArray(s.scenes) && s.scenes.every(Number.isInteger));
}

export function renderStorylineViews({ box, video, results, scenes }) {
  const lines = storylinesOf(results.storylines);
  if (!lines.length) return;
  const byIndex = new Map((scenes || []).filter((s) => s && num(s.start_time)).map((s) => [s.index, s]));
  const items = lines.map((s, i) => {
    const name = typeof s.name === 'string' && s.name ? s.name : `Storyline ${i + 1}`;
    const facts = [
      `${s.scenes.length} scene${s.scenes.length === 1 ? '' : 's'}`,
      num(s.duration) ? `${shortTime(s.duration)} in all` : '',
      num(s.start_time) && num(s.end_time) ? `from ${shortTime(s.start_time)} to ${shortTime(s.end_time)}` : '',
    ].filter(Boolean).join(' · ');
    const chips = s.scenes.map((k) => {
      const sc = byIndex.get(k);
      if (!sc) return h('li', {}, `Scene ${k}`);
      const b = h('button', { type: 'button', class: 'time', 'aria-label': `Play scene ${k} of ${name} from ${shortTime(sc.start_time)}` },
        `Scene ${k} · ${shortTime(sc.start_time)}`);
      b.addEventListener('click', () => {
        seekTo(video, sc.start_time);
        video.play().catch(() => {});
      });
      return h('li', {}, b);
    });
    return h('li', { class: 'storyline', dataset: { storyline: String(s.id ?? i + 1) } },
      h('h3', {}, name),
      typeof s.description === 'string' && s.description ? h('p', {}, s.description) : null,
      h('p', { class: 'facts' }, facts),
      h('ul', { class: 'storyline-scenes', 'aria-label': `Scenes of ${name}` }, chips));
  });
  box.append(h('section', { class: 'panel', 'aria-labelledby': 'st-h', id: 'storylines' },
    h('h2', { id: 'st-h' }, 'Storylines'),
    h('p', { class: 'hint' }, 'Scenes grouped by what they share (colours, people, words, sound), not by their order.'),
    h('ol', { class: 'storyline-list' }, items)));
}
