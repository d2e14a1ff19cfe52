/*
 * ops.c: the route table, and the operational resources: GET / (status JSON
 * or the page, by content negotiation), /healthz, /metrics, the analysis
 * types, OpenAPI at /api/openapi.json, /docs, and the static web page.
 *
 * GET / serves two clients: compat B's scripts expect a JSON status, a
 * browser expects the page. A request whose Accept header names text/html
 * gets web/index.html; anything else (curl, scripts) gets the JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyze/analyze.h"
#include "api/api_int.h"
#include "core/util.h"
#include "library/library.h"

void vd__api_root(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  const char *accept = vd_http_header(r, "Accept");
  if (accept && strstr(accept, "text/html") && a->o.web_dir) {
    char *p = vd_xasprintf("%s/index.html", a->o.web_dir);
    struct stat st;
    int ok = !stat(p, &st) && S_ISREG(st.st_mode);
    if (ok)
      vd_http_file(r, p, "text/html; charset=utf-8", NULL);
    free(p);
    if (ok)
      return;
  }
  vd_http_json(r, 200, json_pack("{s:s, s:s, s:s, s:s}", "service", "vidan", "version",
                                 VD_VERSION, "status", "ok", "docs", "/docs"));
}

void vd__api_health(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  int64_t counts[VD_JOB_NSTATES];
  struct vd_err err = {0};
  int ret = vd_store_job_counts(a->o.store, counts, &err);
  if (ret < 0)
    vd_http_error(r, 503, json_pack("{s:s}", "status", "unhealthy"), "store: %s",
                  vd_err_msg(&err, ret));
  else
    vd_http_json(r, 200, json_pack("{s:s, s:I, s:I}", "status", "ok", "queued",
                                   (json_int_t)counts[VD_JOB_QUEUED], "running",
                                   (json_int_t)counts[VD_JOB_RUNNING]));
}

void vd__api_metrics(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  int64_t counts[VD_JOB_NSTATES];
  char head[1024];
  size_t hl = (size_t)snprintf(head, sizeof(head),
                               "# HELP vidan_jobs Jobs in the store by state.\n"
                               "# TYPE vidan_jobs gauge\n");
  if (vd_store_job_counts(a->o.store, counts, NULL) == 0)
    for (int s = 0; s < VD_JOB_NSTATES; s++)
      hl += (size_t)snprintf(head + hl, sizeof(head) - hl, "vidan_jobs{state=\"%s\"} %lld\n",
                             vd_job_state_name((enum vd_job_state)s), (long long)counts[s]);
  uint64_t ok = 0, failed = 0;
  if (a->o.webhooks)
    vd_webhooks_counts(a->o.webhooks, &ok, &failed);
  char *jm = vd_jobs_metrics(a->o.jobs);
  char *hm = a->http ? vd_http_metrics(a->http) : vd_xstrdup("");
  /* The duplicate library: videos this node's index knows (after catching up). */
  char lib[160] = "";
  if (a->o.library)
    snprintf(lib, sizeof(lib),
             "# HELP vidan_library_videos Videos in the duplicate-check library.\n"
             "# TYPE vidan_library_videos gauge\nvidan_library_videos %zu\n",
             vd_library_size(a->o.library));
  char *all = vd_xasprintf("%s%s%s%s# HELP vidan_webhooks_total Webhook deliveries by outcome.\n"
                           "# TYPE vidan_webhooks_total counter\n"
                           "vidan_webhooks_total{outcome=\"delivered\"} %llu\n"
                           "vidan_webhooks_total{outcome=\"failed\"} %llu\n",
                           head, jm, hm, lib, (unsigned long long)ok, (unsigned long long)failed);
  vd_http_data(r, 200, "text/plain; version=0.0.4; charset=utf-8", all, strlen(all));
  free(all);
  free(jm);
  free(hm);
}

/* ---- OpenAPI ---------------------------------------------------------------- */

static json_t *op(const char *summary, const char *tag, int code) {
  return json_pack("{s:s, s:[s], s:{s:{s:s}}}", "summary", summary, "tags", tag, "responses",
                   code == 202 ? "202" : code == 201 ? "201" : "200", "description", "success");
}

static json_t *openapi_doc(struct vd_api *a) {
  size_t n;
  const struct vd_analysis_def *const *defs = vd_analysis_list(&n);
  json_t *names = vd__api_analysis_names(), *params = json_object(), *schemas = json_object();
  for (size_t i = 0; i < n; i++) {
    json_t *d = vd_params_describe(defs[i]);
    json_object_set(params, defs[i]->name, d);
    char key[96];
    snprintf(key, sizeof(key), "params_%s", defs[i]->name);
    json_object_set_new(schemas, key, d);
  }
  json_object_set_new(
      schemas, "AnalysisRequest",
      json_pack("{s:s, s:[s, s], s:{s:{s:s, s:s}, s:{s:s, s:{s:s, s:o}}, s:{s:s, s:s, s:o}, "
                "s:{s:s, s:s}}}",
                "type", "object", "required", "file_id", "analyses", "properties", "file_id",
                "type", "string", "description", "file id (SHA-256) or a unique prefix of 6+ hex",
                "analyses", "type", "array", "items", "type", "string", "enum", names, "params",
                "type", "object", "description", "{analysis: {param: value}}", "properties",
                params, "webhook", "type", "string", "description",
                "http(s) URL that receives the final status as a JSON POST"));
  json_t *paths = json_object();
#define P(path, ...) json_object_set_new(paths, path, json_pack(__VA_ARGS__))
  P("/api/v1/files", "{s:o, s:o}", "post",
    op("Upload a file (multipart field 'file', or a raw body with ?filename=). 415 if not media, "
       "413 over the limit, 400 if empty.", "files", 201),
    "get", op("List files (limit, cursor)", "files", 200));
  P("/api/v1/files/{id}", "{s:o, s:o}", "get", op("File metadata and probe", "files", 200),
    "delete", op("Delete a file with its analyses (409 while a job runs, unless ?force=1)", "files",
                 200));
  P("/api/v1/files/{id}/content", "{s:o}", "get", op("Download (HTTP Range)", "files", 200));
  P("/api/v1/files/{id}/thumbnail", "{s:o}", "get", op("A thumbnail, once an analysis made one", "files", 200));
  P("/api/v1/analyses", "{s:o, s:o}", "post",
    json_pack("{s:s, s:[s], s:{s:{s:{s:{s:s}}}}, s:{s:{s:s}}}", "summary", "Start analyses",
              "tags", "analyses", "requestBody", "content", "application/json", "schema", "$ref",
              "#/components/schemas/AnalysisRequest", "responses", "202", "description", "queued"),
    "get", op("List analyses (file_id, status, limit, cursor)", "analyses", 200));
  P("/api/v1/analyses/{id}", "{s:o, s:o}", "get",
    op("Status, progress, stage, timings, error, result and artifacts", "analyses", 200), "delete",
    op("Cancel and delete", "analyses", 200));
  P("/api/v1/analyses/{id}/events", "{s:o}", "get",
    op("Server-Sent Events: progress until the job ends", "analyses", 200));
  P("/api/v1/analyses/{id}/artifacts/{name}", "{s:o}", "get", op("An artifact file", "analyses", 200));
  P("/api/v1/analysis-types", "{s:o}", "get", op("The analyses and their parameters", "analyses", 200));
  P("/api/v1/search", "{s:o}", "get", vd__api_search_op());
  P("/file", "{s:o, s:o}", "post", op("Compat A: upload, returns {file_id}", "compat", 200), "get",
    op("Compat A: list files", "compat", 200));
  P("/file/{id}", "{s:o, s:o}", "get", op("Compat A: file bytes by id or prefix", "compat", 200),
    "delete", op("Compat A: delete", "compat", 200));
  P("/analysis", "{s:o, s:o}", "post",
    op("Compat A: file_id, analysis, model, other fields are parameters", "compat", 200), "get",
    op("Compat A: list with PENDING/STARTED/FAILURE/SUCCESS", "compat", 200));
  P("/analysis/{id}", "{s:o}", "get", op("Compat A: 202 until done, then the result", "compat", 200));
  P("/api/sample-videos", "{s:o}", "get", op("Compat B: sample videos", "compat", 200));
  P("/api/analyze", "{s:o}", "post", op("Compat B: start a scene/storyline task", "compat", 200));
  P("/api/analysis/{task_id}", "{s:o}", "get", op("Compat B: task status or result", "compat", 200));
  P("/check-video-duplicate", "{s:o}", "post",
    op("Compat E: {\"link\": URL of <id>.mp4} is fetched, checked against every earlier video "
       "and kept; answers {is_duplicate, duplicate_for, hard_case, matches}, 400 for a bad link "
       "or a non-video", "compat", 200));
  P("/api/v1/files/{id}/duplicates", "{s:o}", "get",
    op("The earlier and later videos this file matches (after `fingerprint` ran)", "files", 200));
  P("/healthz", "{s:o}", "get", op("Health", "operations", 200));
  P("/metrics", "{s:o}", "get", op("Prometheus metrics", "operations", 200));
#undef P
  json_t *info = json_pack("{s:s, s:s, s:s}", "title", "vidan", "version", VD_VERSION,
                           "description", "Self-hosted video intelligence service");
  if (a->o.max_upload > 0)
    json_object_set_new(info, "x-max-upload-bytes", json_integer(a->o.max_upload));
  return json_pack("{s:s, s:o, s:o, s:{s:o}}", "openapi", "3.0.3", "info", info, "paths", paths,
                   "components", "schemas", schemas);
}

void vd__api_openapi(struct vd_http_req *r, void *app) { vd_http_json(r, 200, openapi_doc(app)); }

void vd__api_types(struct vd_http_req *r, void *app) {
  (void)app;
  size_t n;
  const struct vd_analysis_def *const *defs = vd_analysis_list(&n);
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(list, vd_params_describe(defs[i]));
  vd_http_json(r, 200, json_pack("{s:o}", "analyses", list));
}

static const char docs_html[] =
    "<!doctype html><html lang=en><meta charset=utf-8><title>vidan API</title>"
    "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
    "code{background:#f3f3f3;padding:0 .3em}h2{margin-top:1.5em}.m{font-weight:bold;display:inline-block;"
    "width:4.5em}li{margin:.3em 0}pre{background:#f6f6f6;padding:.5em;overflow:auto}</style>"
    "<h1>vidan HTTP API</h1><p>The machine-readable description is <a href=/api/openapi.json>"
    "/api/openapi.json</a> (OpenAPI 3). This page is generated from it.</p><div id=d>Loading…</div>"
    "<script>fetch('/api/openapi.json').then(r=>r.json()).then(doc=>{const d=document.getElementById('d');"
    "d.textContent='';const groups={};for(const[p,ops]of Object.entries(doc.paths))for(const[m,o]of "
    "Object.entries(ops)){const t=(o.tags||['other'])[0];(groups[t]=groups[t]||[]).push([m,p,o]);}"
    "for(const[t,list]of Object.entries(groups)){const h=document.createElement('h2');h.textContent=t;"
    "d.append(h);const ul=document.createElement('ul');for(const[m,p,o]of list){const li="
    "document.createElement('li');const s=document.createElement('span');s.className='m';"
    "s.textContent=m.toUpperCase();const c=document.createElement('code');c.textContent=p;"
    "li.append(s,c,' — '+(o.summary||''));ul.append(li);}d.append(ul);}const h=document."
    "createElement('h2');h.textContent='analyses and parameters';d.append(h);const pre=document."
    "createElement('pre');pre.textContent=JSON.stringify(doc.components.schemas.AnalysisRequest,null,2);"
    "d.append(pre);}).catch(e=>{document.getElementById('d').textContent='cannot load: '+e;});</script>";

void vd__api_docs(struct vd_http_req *r, void *app) {
  (void)app;
  vd_http_data(r, 200, "text/html; charset=utf-8", docs_html, sizeof(docs_html) - 1);
}

/* Static files of the page. Paths with "..", hidden parts or odd bytes are
 * refused, so nothing outside web_dir is reachable. */
void vd__api_static(struct vd_http_req *r, void *app) {
  struct vd_api *a = app;
  const char *rel = vd_http_param(r, 0);
  if (!a->o.web_dir) {
    vd_http_error(r, 404, NULL, "no web page configured");
    return;
  }
  for (const char *p = rel; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c == '\\' || (c == '.' && (p == rel || p[-1] == '/'))) {
      vd_http_error(r, 404, NULL, "not found");
      return;
    }
  }
  char *path = vd_xasprintf("%s/%s", a->o.web_dir, rel);
  struct stat st;
  if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
    char *idx = vd_xasprintf("%s/index.html", path);
    free(path);
    path = idx;
  }
  vd_http_file(r, path, vd__api_ctype(path), NULL);
  free(path);
}

static const struct vd_http_route routes[] = {
    {"POST", "/api/v1/files", VD_HTTP_BODY_UPLOAD, vd__api_files_upload, NULL},
    {"GET", "/api/v1/files", VD_HTTP_BODY_NONE, vd__api_files_list, NULL},
    {"GET", "/api/v1/files/{}", VD_HTTP_BODY_NONE, vd__api_files_get, "/api/v1/files/{id}"},
    {"DELETE", "/api/v1/files/{}", VD_HTTP_BODY_NONE, vd__api_files_delete, "/api/v1/files/{id}"},
    {"GET", "/api/v1/files/{}/content", VD_HTTP_BODY_NONE, vd__api_files_content,
     "/api/v1/files/{id}/content"},
    {"GET", "/api/v1/files/{}/thumbnail", VD_HTTP_BODY_NONE, vd__api_files_thumbnail,
     "/api/v1/files/{id}/thumbnail"},
    {"GET", "/api/v1/files/{}/duplicates", VD_HTTP_BODY_NONE, vd__api_files_duplicates,
     "/api/v1/files/{id}/duplicates"},
    {"POST", "/api/v1/analyses", VD_HTTP_BODY_JSON, vd__api_analyses_create, NULL},
    {"GET", "/api/v1/analyses", VD_HTTP_BODY_NONE, vd__api_analyses_list, NULL},
    {"GET", "/api/v1/analysis-types", VD_HTTP_BODY_NONE, vd__api_types, NULL},
    {"GET", "/api/v1/search", VD_HTTP_BODY_NONE, vd__api_search, NULL},
    {"GET", "/api/v1/analyses/{}", VD_HTTP_BODY_NONE, vd__api_analyses_get,
     "/api/v1/analyses/{id}"},
    {"DELETE", "/api/v1/analyses/{}", VD_HTTP_BODY_NONE, vd__api_analyses_delete,
     "/api/v1/analyses/{id}"},
    {"GET", "/api/v1/analyses/{}/events", VD_HTTP_BODY_NONE, vd__api_analyses_events,
     "/api/v1/analyses/{id}/events"},
    {"GET", "/api/v1/analyses/{}/artifacts/{}", VD_HTTP_BODY_NONE, vd__api_analyses_artifact,
     "/api/v1/analyses/{id}/artifacts/{name}"},
    {"POST", "/file", VD_HTTP_BODY_UPLOAD, vd__api_a_upload, NULL},
    {"GET", "/file", VD_HTTP_BODY_NONE, vd__api_a_files, NULL},
    {"GET", "/file/{}", VD_HTTP_BODY_NONE, vd__api_a_file_get, "/file/{id}"},
    {"DELETE", "/file/{}", VD_HTTP_BODY_NONE, vd__api_a_file_delete, "/file/{id}"},
    {"POST", "/analysis", VD_HTTP_BODY_FORM, vd__api_a_analyze, NULL},
    {"GET", "/analysis", VD_HTTP_BODY_NONE, vd__api_a_analyses, NULL},
    {"GET", "/analysis/{}", VD_HTTP_BODY_NONE, vd__api_a_analysis, "/analysis/{id}"},
    {"GET", "/api/sample-videos", VD_HTTP_BODY_NONE, vd__api_b_samples, NULL},
    {"POST", "/api/analyze", VD_HTTP_BODY_JSON, vd__api_b_analyze, NULL},
    {"GET", "/api/analysis/{}", VD_HTTP_BODY_NONE, vd__api_b_status, "/api/analysis/{task_id}"},
    {"POST", "/check-video-duplicate", VD_HTTP_BODY_JSON, vd__api_e_check, NULL},
    {"GET", "/healthz", VD_HTTP_BODY_NONE, vd__api_health, NULL},
    {"GET", "/metrics", VD_HTTP_BODY_NONE, vd__api_metrics, NULL},
    {"GET", "/api/openapi.json", VD_HTTP_BODY_NONE, vd__api_openapi, NULL},
    {"GET", "/docs", VD_HTTP_BODY_NONE, vd__api_docs, NULL},
    {"GET", "/", VD_HTTP_BODY_NONE, vd__api_root, NULL},
    {"GET", "/*", VD_HTTP_BODY_NONE, vd__api_static, "static"},
    {NULL, NULL, VD_HTTP_BODY_NONE, NULL, NULL},
};

const struct vd_http_route *vd_api_routes(void) { return routes; }
