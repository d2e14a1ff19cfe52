// search.js: search across the whole library. A search box (on the library
// page and on the results page) leads to #/search?q=words; the results are
// the moments where the words were said (transcript), shown on screen
// (text), seen (objects: "person", "dog") or named (file name), best first, each with the file's thumbnail,
// the time and the matched words marked. Choosing one opens its analysis at
// that moment: #/analyses/<job>?t=<seconds>.
//
// The API marks matched words between « and » in plain text. The snippet is
// split on those marks into text nodes and <mark> elements, never parsed as
// HTML, so text read off a video cannot inject markup.

import { API, fileThumbUrl, get } from './api.js';
import { shortTime } from './player.js';
import { clear, h } from './util.js';

const PAGE = 20;
const KIND = { transcript: 'said', text: 'shown', objects: 'seen', file: 'file name' };

// The words of a #/search?q=... route, or '' when there are none.
export function searchQueryOf(hash) {
  const m = /^search(?:\?(.*))?$/.exec(hash);
  return m ? new URLSearchParams(m[1] || '').get('q') || '' : null;
}

// "a «b» c" -> [text "a ", <mark>b</mark>, text " c"]; unpaired marks stay text.
export function markedSnippet(s) {
  const out = [];
  const re = /«([^«»]*)»/g;
  let at = 0;
  for (let m; (m = re.exec(s));) {
    if (m.index > at) out.push(s.slice(at, m.index));
    out.push(h('mark', {}, m[1]));
    at = re.lastIndex;
  }
  if (at < s.length) out.push(s.slice(at));
  return out;
}

// The search box; submitting it goes to #/search?q=...
export function searchBox(q = '') {
  const input = h('input', { type: 'search', id: 'search-q', name: 'q', value: q, maxlength: 200,
    placeholder: 'Words said, shown or in a file name', 'aria-label': 'Search the library', required: true });
  const form = h('form', { class: 'search-box', role: 'search', id: 'search-form' }, input,
    h('button', { type: 'submit', class: 'button' }, 'Search'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const words = input.value.trim();
    if (words) location.hash = `#/search?q=${encodeURIComponent(words)}`;
  });
  return form;
}

function hitItem(hit) {
  const thumb = h('img', { class: 'thumb', src: fileThumbUrl(hit.file_id), alt: '', loading: 'lazy', width: 128, height: 72 });
  thumb.addEventListener('error', () => thumb.replaceWith(h('div', { class: 'thumb none', 'aria-hidden': 'true' }, '▶')));
  const when = hit.analysis === 'file' ? '' : `${shortTime(hit.start)}–${shortTime(hit.end)}`;
  const what = [KIND[hit.analysis] || hit.analysis, when].filter(Boolean).join(' · ');
  const body = h('div', { class: 'hit-body' },
    h('h3', { class: 'file-name' }, hit.filename || hit.file_id),
    h('p', { class: 'facts' }, what),
    h('p', { class: 'snippet' }, markedSnippet(hit.snippet || hit.text || '')));
  const attrs = { class: 'hit', dataset: { fileId: hit.file_id, analysis: hit.analysis, start: hit.start } };
  if (!hit.job_id)
    return h('li', attrs, thumb, body, h('p', { class: 'muted' }, 'No finished analysis of this file yet.'));
  const t = hit.analysis === 'file' ? '' : `?t=${encodeURIComponent(hit.start)}`;
  return h('li', attrs, h('a', { class: 'hit-link', href: `#/analyses/${encodeURIComponent(hit.job_id)}${t}` }, thumb, body));
}

// Renders the results for `q` into root.
export async function renderSearch(root, q) {
  const list = h('ol', { class: 'hits', id: 'search-hits' });
  const msg = h('div', { role: 'status', id: 'search-status' });
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'More results');
  root.append(h('section', { class: 'panel', 'aria-labelledby': 'search-h' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Library'), ' / search'),
    h('h1', { id: 'search-h' }, 'Search the library'), searchBox(q), msg, list, more));
  if (!q) {
    msg.append(h('p', { class: 'muted' }, 'Type words that were said, shown on screen or are in a file name.'));
    return;
  }
  let cursor = null;
  async function page() {
    more.hidden = true;
    let data;
    try {
      const c = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      data = await get(`${API}/search?q=${encodeURIComponent(q)}&limit=${PAGE}${c}`, 'Searching');
    } catch (e) {
      clear(msg).append(h('p', { class: 'notice error' }, e.message));
      return;
    }
    const hits = (data && data.hits) || [];
    list.append(...hits.map(hitItem));
    clear(msg).append(h('p', { class: 'muted' }, list.children.length
      ? `${list.children.length}${data.next_cursor ? '+' : ''} moment${list.children.length === 1 ? '' : 's'} for “${q}”`
      : `Nothing found for “${q}”.`));
    cursor = data && data.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener('click', page);
  await page();
}
