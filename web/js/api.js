// api.js: the page's only door to the vidan HTTP API (/api/v1), plus the
// translation of HTTP failures into sentences a person understands.
//
// Every failure becomes an ApiError whose .message is already written for a
// person; .status and .detail (the server's own {"error": ...} text) are kept
// for the views that want to add context.

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(message, status, detail) {
    super(message);
    this.status = status;
    this.detail = detail || '';
  }
}

// The server's error text from a JSON body {"error": "..."} (or {"message"}),
// falling back to the raw text when it is short and not HTML.
export function serverDetail(body) {
  if (!body) return '';
  if (typeof body === 'object') {
    const e = body.error;
    if (typeof e === 'string') return e;
    if (e && typeof e.message === 'string') return e.message;
    if (typeof body.message === 'string') return body.message;
    return '';
  }
  const t = String(body).trim();
  return t.length < 300 && !t.startsWith('<') ? t : '';
}

export function sentence(s) {
  s = String(s || '').trim();
  if (!s) return '';
  // Capitalize a leading plain word ("not a media file"), never a file name.
  if (/^[a-z]+[ ,;:]/.test(s)) s = s[0].toUpperCase() + s.slice(1);
  return /[.!?]$/.test(s) ? s : s + '.';
}

// What went wrong, for a person. `what` names the action ("Loading the file
// list"), used when the status alone says little.
export function describeFailure(status, detail, what) {
  const d = sentence(detail);
  switch (status) {
    case 0:
      return `${what} failed: the vidan server could not be reached. Check that it is still running, then try again.`;
    case 400:
      return d ? `${what} was refused: ${d}` : `${what} was refused: the request was not valid.`;
    case 404:
      return `${what} failed: it no longer exists (it may have been deleted). ${d}`.trim();
    case 409:
      return `${what} is not possible right now. ${d}`.trim();
    case 413:
      return `The file is too large for this server.${d ? ` Details: ${d}` : ''}`;
    case 415:
      return `vidan cannot read this file as video or audio, so it was not kept.${d ? ` Details: ${d}` : ''}`;
    case 429:
    case 503:
      return `The server is busy. Wait a moment and try again. ${d}`.trim();
    default:
      if (status >= 500)
        return `${what} failed because of a problem on the server (HTTP ${status}). ${d}`.trim();
      return `${what} failed (HTTP ${status}). ${d}`.trim();
  }
}

async function readBody(res) {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

// fetch + JSON, throwing ApiError. opts.what describes the action for messages.
export async function request(method, path, { body, what = 'The request' } = {}) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path.startsWith('/') ? path : `${API}/${path}`, init);
  } catch {
    throw new ApiError(describeFailure(0, '', what), 0, '');
  }
  const data = await readBody(res);
  if (!res.ok) {
    const detail = serverDetail(data);
    throw new ApiError(describeFailure(res.status, detail, what), res.status, detail);
  }
  return data;
}

export const get = (path, what) => request('GET', path, { what });
export const post = (path, body, what) => request('POST', path, { body, what });
export const del = (path, what) => request('DELETE', path, { what });

export const fileContentUrl = (fileId) => `${API}/files/${encodeURIComponent(fileId)}/content`;
// ?placeholder=1: a file with no thumbnail yet gets a stand-in picture
// instead of a 404 (which the browser logs as an error for every <img>).
export const fileThumbUrl = (fileId) => `${API}/files/${encodeURIComponent(fileId)}/thumbnail?placeholder=1`;
export const artifactUrl = (jobId, name) =>
  `${API}/analyses/${encodeURIComponent(jobId)}/artifacts/${name.split('/').map(encodeURIComponent).join('/')}`;
export const eventsUrl = (jobId) => `${API}/analyses/${encodeURIComponent(jobId)}/events`;

// List items of a paginated answer, whatever the envelope key.
export function itemsOf(data) {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== 'object') return [];
  for (const k of ['items', 'files', 'analyses', 'data']) if (Array.isArray(data[k])) return data[k];
  return [];
}

/*
 * The analyses this server offers, as [{name, description, params: {name:
 * {type, default, minimum, maximum, enum, description}}, depends: [],
 * internal}].
 * Read from the server so that an analysis added to the C registry shows up
 * here with no change to the page: first GET /api/v1/analysis-types, then
 * the OpenAPI document.
 */
export async function analysisTypes() {
  try {
    const data = await get(`${API}/analysis-types`, 'Loading the list of analyses');
    const list = normalizeTypes(itemsOf(data).length ? itemsOf(data) : data);
    if (list.length) return list;
  } catch (e) {
    if (e.status !== 404 && e.status !== 405) throw e;
  }
  return typesFromOpenApi(await openapi());
}

let openapiPromise = null;
// The OpenAPI document, fetched once per page load.
export function openapi() {
  if (!openapiPromise) {
    openapiPromise = get('/api/openapi.json', 'Loading the API description');
    openapiPromise.catch(() => (openapiPromise = null));
  }
  return openapiPromise;
}

// The server's upload limit in bytes when it documents one, else null.
export async function maxUploadBytes() {
  try {
    const info = (await openapi()).info || {};
    const v = info['x-max-upload-bytes'] ?? info['x-max-upload-size'];
    return Number.isFinite(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

function normalizeTypes(list) {
  if (!Array.isArray(list)) {
    // {name: {...}} map
    if (list && typeof list === 'object') list = Object.entries(list).map(([name, v]) => ({ name, ...v }));
    else return [];
  }
  return list
    .filter((t) => t && typeof t.name === 'string')
    .map((t) => ({
      name: t.name,
      description: t.description || t.summary || '',
      params: (t.params && (t.params.properties || t.params)) || t.properties || {},
      depends: t['x-depends-on'] || t.depends || t.deps || [],
      internal: !!t['x-internal'], // test-only analyses the page hides
    }));
}

// Walks the OpenAPI document for the enum of analysis names and, where the
// server documents them, each analysis's parameter schema.
export function typesFromOpenApi(doc) {
  let names = null;
  const perType = {};
  const seen = new Set();
  const walk = (node, key) => {
    if (!node || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    if (key === 'analyses' && node.items && Array.isArray(node.items.enum) && !names) names = node.items.enum;
    if (typeof node.name === 'string' && ('x-depends-on' in node || 'properties' in node) && node.type === 'object')
      perType[node.name] = node;
    for (const [k, v] of Object.entries(node)) walk(v, k);
  };
  walk(doc, '');
  const schemas = (doc && doc.components && doc.components.schemas) || {};
  const out = [];
  for (const name of names || Object.keys(perType)) {
    const s = perType[name] || schemas[`params_${name}`] || schemas[`${name}_params`] || schemas[name] || {};
    out.push({
      name,
      description: s.description || '',
      params: s.properties || {},
      depends: s['x-depends-on'] || [],
      internal: !!s['x-internal'],
    });
  }
  return out;
}
