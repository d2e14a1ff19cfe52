// dup.js: the view of the duplicates analysis (near-duplicates by picture
// and sound against every video the service saw before; docs/internals/
// dup-service.md). Given the job's results it adds a "Duplicate check"
// panel:
//   - the verdict in words: a duplicate of which earlier video, or not,
//     with how many videos it was compared with;
//   - one row per match: the earlier video's name, linked to its newest
//     analysis (or its file when it has none), the verdict, and bars for
//     how much of the picture and of the sound agree;
//   - hard cases explained: the same picture with other sound (one
//     presenter, one set, different talks) and the same sound with another
//     picture (different people dancing to one song) are not duplicates.
// Data: results.duplicates = {is_duplicate, duplicate_for, hard_cases,
// matches: [{id, verdict, picture, sound, offset, coverage}], compared_with}
// where ids are file ids. A malformed value draws nothing.

import { API, fileContentUrl, get, itemsOf } from './api.js';
import { h, pct } from './util.js';

const num = (x) => Number.isFinite(x);

const VERDICT = {
  duplicate: 'duplicate',
  same_picture: 'same picture, other sound',
  same_sound: 'same sound, other picture',
  none: 'unrelated',
};

const HARD = {
  same_picture: 'The picture agrees but the sound does not: for example one presenter in the same ' +
    'setting giving different talks. That is a hard case, not a duplicate.',
  same_sound: 'The sound agrees but the picture does not: for example different people dancing to ' +
    'one song. That is a hard case, not a duplicate.',
};

// A similarity bar: 0..1, or null when one of the videos has no such track.
function bar(what, v) {
  if (!num(v))
    return h('span', { class: 'dup-sim', dataset: { kind: what } }, `${what}: —`,
      h('span', { class: 'hint' }, ' (one of them has none)'));
  return h('span', { class: 'dup-sim', dataset: { kind: what, value: String(v) } }, `${what} `,
    h('meter', { min: 0, max: 1, value: v, 'aria-label': `${what} similarity`,
      style: { width: '8em', verticalAlign: 'middle' } }), ` ${pct(v)}`);
}

// Where the earlier video can be seen: its newest finished analysis, else
// its bytes. Filled in once the server answered; the row shows the id first.
async function linkTo(a, id) {
  try {
    const f = await get(`${API}/files/${encodeURIComponent(id)}`, 'Loading the earlier video');
    a.textContent = f.filename || id.slice(0, 12);
    const list = await get(`${API}/analyses?file_id=${encodeURIComponent(id)}&status=succeeded&limit=1`,
      'Loading its analyses');
    const job = itemsOf(list)[0];
    a.href = job ? `#/analyses/${encodeURIComponent(job.id)}` : fileContentUrl(id);
  } catch {
    a.textContent = `${id.slice(0, 12)}… (deleted)`;
    a.removeAttribute('href');
  }
}

function matchRow(m) {
  const a = h('a', { class: 'dup-link', href: fileContentUrl(m.id) }, `${m.id.slice(0, 12)}…`);
  linkTo(a, m.id);
  return h('li', { class: `dup-match dup-${m.verdict}`, dataset: { verdict: m.verdict, id: m.id } },
    a, ' ', h('strong', { class: 'dup-verdict' }, VERDICT[m.verdict] || m.verdict), ' ',
    bar('picture', m.picture), ' ', bar('sound', m.sound),
    num(m.offset) && Math.abs(m.offset) >= 0.5
      ? h('span', { class: 'hint' }, ` starts ${m.offset.toFixed(1)} s into it`) : null,
    num(m.coverage) ? h('span', { class: 'hint' }, `, ${pct(m.coverage)} lines up`) : null);
}

function verdictText(r, matches) {
  const n = num(r.compared_with) ? r.compared_with : null;
  const seen = n === null ? '' : ` (compared with ${n} earlier video${n === 1 ? '' : 's'})`;
  if (r.is_duplicate) return `This video is a duplicate of an earlier one${seen}.`;
  if (matches.some((m) => m.verdict === 'same_picture' || m.verdict === 'same_sound'))
    return `Not a duplicate, but a hard case${seen}.`;
  return `Not a duplicate: no earlier video matches${seen}.`;
}

/*
 * Adds the duplicate check panel to `box`. Returns true if it drew anything.
 */
export function renderDupViews({ box, results }) {
  const r = results.duplicates;
  if (!r || typeof r !== 'object') return false;
  const matches = (Array.isArray(r.matches) ? r.matches : [])
    .filter((m) => m && typeof m.id === 'string' && typeof m.verdict === 'string');
  const hard = [...new Set(matches.map((m) => m.verdict).filter((v) => HARD[v]))];
  box.append(h('section', { class: 'panel', 'aria-labelledby': 'dup-h', id: 'duplicates' },
    h('h2', { id: 'dup-h' }, 'Duplicate check'),
    h('p', { class: r.is_duplicate ? 'notice warn' : 'facts', id: 'dup-verdict' }, verdictText(r, matches)),
    matches.length ? h('ul', { class: 'dup-matches', id: 'dup-matches', 'aria-label': 'Matching earlier videos, best first' },
      matches.map(matchRow)) : null,
    hard.map((v) => h('p', { class: 'hint dup-hard', dataset: { verdict: v } }, HARD[v]))));
  return true;
}
