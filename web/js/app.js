// app.js: entry point and router. Routes live in the URL fragment so the
// server only has to serve index.html at "/":
//   #/                 upload panel + library
//   #/analyses/{id}    one analysis: live progress, then results
//                      (?t=SECONDS starts the player there)
//   #/search?q=WORDS   search across the library (js/search.js)
// Each view renders into <main> and may return a cleanup function (the
// analysis view closes its EventSource there).

import { renderAnalysis } from './analysis.js';
import { renderLibrary } from './library.js';
import { renderSearch, searchBox, searchQueryOf } from './search.js';
import { renderUpload } from './upload.js';
import { clear, h } from './util.js';

const main = document.getElementById('main');
let cleanup = null;
let generation = 0;

async function route() {
  const gen = ++generation;
  if (cleanup) cleanup();
  cleanup = null;
  // Each navigation renders into its own container; a slower, older one
  // then writes into a detached node and cannot mix into the new view.
  const view = h('div', { class: 'view' });
  clear(main).append(view);
  delete main.dataset.ready;
  const hash = location.hash.replace(/^#\/?/, '');
  const m = /^analyses\/([^/?#]+)(?:\?(.*))?$/.exec(hash);
  const q = searchQueryOf(hash);
  let stop = null;
  if (m) {
    document.title = 'Analysis · vidan';
    const t = new URLSearchParams(m[2] || '').get('t');
    stop = await renderAnalysis(view, decodeURIComponent(m[1]), { t: t === null ? NaN : Number(t) });
  } else if (q !== null) {
    document.title = 'Search · vidan';
    await renderSearch(view, q);
  } else {
    document.title = 'vidan';
    view.append(h('section', { class: 'panel search', 'aria-labelledby': 'find-h' },
      h('h2', { id: 'find-h', class: 'visually-hidden' }, 'Search the library'), searchBox()));
    await renderUpload(view, {
      onStarted: (file, job) => {
        location.hash = job ? `#/analyses/${encodeURIComponent(job.id)}` : '#/';
        if (!job) route();
      },
    });
    await renderLibrary(view);
  }
  // A later navigation won the race: stop what this one started.
  if (gen !== generation) {
    if (stop) stop();
    return;
  }
  cleanup = stop;
  main.dataset.ready = hash || 'home';
}

window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', (e) => {
  main.prepend(h('p', { class: 'notice error' }, 'Something went wrong on this page: ',
    String((e.reason && e.reason.message) || e.reason), '. Reload the page to try again.'));
});
route();
