// library.js: every uploaded file with its thumbnail, duration, size and the
// analyses run on it (with their states), a page at a time (cursor paging).

import { API, ApiError, del, fileThumbUrl, get, itemsOf, post } from './api.js';
import { chosenRequest } from './upload.js';
import { clear, fmtBytes, fmtDate, fmtDuration, h, pct } from './util.js';

const PAGE = 20;

const STATE_WORDS = {
  queued: 'waiting',
  running: 'running',
  succeeded: 'done',
  failed: 'failed',
  canceled: 'canceled',
};

export function stateBadge(status, progress) {
  const word = STATE_WORDS[status] || status || 'unknown';
  const text = status === 'running' && Number.isFinite(progress) ? `${word} ${pct(progress)}` : word;
  return h('span', { class: `state state-${status || 'unknown'}` }, text);
}

// Probe facts, wherever the API puts them: {probe: {...}} or top level.
export function fileFacts(f) {
  const p = f.probe || f.media || {};
  const v = p.video || {};
  return {
    duration: p.duration ?? f.duration,
    width: v.display_width || v.width || p.width,
    height: v.display_height || v.height || p.height,
    hasVideo: !!(p.video || p.width),
  };
}

function analysesOf(job) {
  const a = job.analyses || (job.request && job.request.analyses) || [];
  return Array.isArray(a) ? a : [];
}

function jobNames(job) {
  const a = analysesOf(job);
  return a.length ? a.join(', ') : 'analysis';
}

/*
 * "Same video as …" under a file that the duplicate check matched with
 * another. Asked only when a fingerprint or duplicates run of the file
 * succeeded (the server then has its fingerprint; before, the answer is a
 * 404): one small request per such file, the verdicts the library already
 * keeps, nothing decoded. Matches either way (earlier or later uploads).
 */
async function dupLine(f, line) {
  let r;
  try {
    r = await get(`${API}/files/${encodeURIComponent(f.id)}/duplicates`, 'Loading the duplicate check');
  } catch {
    return; /* a side note: the card stands without it */
  }
  const same = (Array.isArray(r && r.matches) ? r.matches : [])
    .filter((m) => m && m.verdict === 'duplicate' && m.file_id !== f.id);
  line.dataset.duplicates = String(same.length);
  if (!same.length) return;
  line.hidden = false;
  line.append('Same video as ', ...same.flatMap((m, i) => [i ? ', ' : '',
    h('strong', { dataset: { fileId: m.file_id } }, m.name || `${m.file_id.slice(0, 12)}…`)]),
  ' (duplicate check)');
}

async function fileCard(f, onChange) {
  const facts = fileFacts(f);
  const facts_line = [
    Number.isFinite(facts.duration) ? fmtDuration(facts.duration) : null,
    facts.width && facts.height ? `${facts.width}×${facts.height}` : null,
    Number.isFinite(f.size) ? fmtBytes(f.size) : null,
    f.created_at || f.created ? `uploaded ${fmtDate(f.created_at || f.created)}` : null,
  ].filter(Boolean).join(' · ');
  const thumb = h('img', { class: 'thumb', src: fileThumbUrl(f.id), alt: '', loading: 'lazy', width: 160, height: 90 });
  thumb.addEventListener('error', () => thumb.replaceWith(h('div', { class: 'thumb none', 'aria-hidden': 'true' }, '▶')));
  const jobs = h('ul', { class: 'jobs', 'aria-label': `Analyses of ${f.filename}` });
  const msg = h('div', { class: 'card-msg', role: 'status' });
  const dup = h('p', { class: 'dup-flag', hidden: true });
  const again = h('button', { type: 'button', class: 'button' }, 'Analyze again');
  const remove = h('button', { type: 'button', class: 'button danger' }, 'Delete');
  const card = h('li', { class: 'file-card', dataset: { fileId: f.id } }, thumb,
    h('div', { class: 'file-body' },
      h('h3', { class: 'file-name' }, f.filename || f.id),
      h('p', { class: 'facts' }, facts_line), dup,
      jobs, h('div', { class: 'actions' }, again, remove), msg));

  again.addEventListener('click', async () => {
    const req = chosenRequest();
    if (!req || !req.analyses.length) {
      clear(msg).append(h('p', { class: 'notice error' }, 'Tick at least one analysis in “Analyze a video” above.'));
      return;
    }
    try {
      const job = await post(`${API}/analyses`, { file_id: f.id, ...req }, 'Starting the analysis');
      location.hash = `#/analyses/${job.id}`;
    } catch (e) {
      clear(msg).append(h('p', { class: 'notice error' }, e.message));
    }
  });
  remove.addEventListener('click', async () => {
    if (!confirm(`Delete “${f.filename}” and all its analyses?`)) return;
    try {
      await del(`${API}/files/${encodeURIComponent(f.id)}`, 'Deleting the file');
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 409) {
        clear(msg).append(h('p', { class: 'notice error' }, e.message));
        return;
      }
      if (!confirm('An analysis of this file is still running. Stop it and delete the file anyway?')) return;
      try {
        await del(`${API}/files/${encodeURIComponent(f.id)}?force=1`, 'Deleting the file');
      } catch (e2) {
        clear(msg).append(h('p', { class: 'notice error' }, e2.message));
        return;
      }
    }
    onChange();
  });

  try {
    const list = itemsOf(await get(`${API}/analyses?file_id=${encodeURIComponent(f.id)}&limit=50`,
      'Loading the analyses'));
    if (!list.length) jobs.append(h('li', { class: 'muted' }, 'No analyses yet.'));
    if (list.some((j) => j.status === 'succeeded' && analysesOf(j).some((a) => a === 'fingerprint' || a === 'duplicates')))
      await dupLine(f, dup);
    for (const j of list)
      jobs.append(h('li', {}, h('a', { href: `#/analyses/${encodeURIComponent(j.id)}` }, jobNames(j)), ' ',
        stateBadge(j.status, j.progress), j.created_at ? h('small', { class: 'muted' }, ' ', fmtDate(j.created_at)) : null));
  } catch (e) {
    jobs.append(h('li', { class: 'notice error' }, e.message));
  }
  return card;
}

export async function renderLibrary(root) {
  const list = h('ul', { class: 'files', id: 'library-list' });
  const more = h('button', { type: 'button', class: 'button', hidden: true }, 'Show more files');
  const msg = h('div', { role: 'status' });
  const section = h('section', { class: 'panel library', 'aria-labelledby': 'lib-h' },
    h('h2', { id: 'lib-h' }, 'Library'), msg, list, more);
  root.append(section);

  let cursor = null;
  const reload = () => {
    clear(list);
    cursor = null;
    loadPage();
  };
  async function loadPage() {
    more.hidden = true;
    let data;
    try {
      const q = `limit=${PAGE}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
      data = await get(`${API}/files?${q}`, 'Loading the file list');
    } catch (e) {
      clear(msg).append(h('p', { class: 'notice error' }, e.message));
      return;
    }
    clear(msg);
    const files = itemsOf(data);
    if (!files.length && !list.children.length)
      msg.append(h('p', { class: 'muted' }, 'No files yet. Upload a video above to start.'));
    const cards = await Promise.all(files.map((f) => fileCard(f, reload)));
    list.append(...cards);
    cursor = data && data.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener('click', loadPage);
  await loadPage();
}
