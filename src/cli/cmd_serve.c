/*
 * cmd_serve.c: `vidan serve`: the HTTP API, the web page and the workers in
 * one process, over SQLite and a blob folder under --data (./var).
 *
 * Start-up order: store (migrations) → blobs (stale temp files swept) →
 * webhooks → workers → HTTP. Shutdown on SIGINT/SIGTERM runs it backwards:
 * no new requests, workers give their running jobs back (lease released),
 * then the store closes. A kill -9 skips all that; the leases then expire
 * and the next start takes the jobs again.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "blob/blob.h"
#include "cli/cli.h"
#include "core/log.h"
#include "core/util.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "library/library.h"
#include "store/store.h"

int vd_cmd_serve(int argc, char **argv);

static void usage(FILE *f) {
  fprintf(f,
          "usage: vidan serve [options]\n\n"
          "Runs the HTTP API (/api/v1, compat routes), the web page and the analysis\n"
          "workers in one process. Data lives in DIR/vidan.db (SQLite) and DIR/blobs.\n\n"
          "options:\n"
          "  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080; port 0 = any)\n"
          "  --data DIR             data folder (default ./var)\n"
          "  --db LOCATION          store: postgres://USER@HOST/DB (several nodes share it;\n"
          "                         all must mount the same --data for blobs), or a SQLite\n"
          "                         file (default DIR/vidan.db)\n"
          "  --workers N            analysis worker threads (default: number of cores)\n"
          "  --max-upload SIZE      upload limit, bytes or with K/M/G (default 2G)\n"
          "  --samples DIR          sample videos for /api/sample-videos (env VIDAN_SAMPLES)\n"
          "  --web DIR              static page served at / (env VIDAN_WEB; default ./web)\n"
          "  --lease SECONDS        job lease; a dead worker's job is retried after it (default 30)\n"
          "  --max-attempts N       tries per job before it fails (default 3)\n"
          "  --timeout SECONDS      idle connection timeout (default 30)\n"
          "  --min-upload-rate B/S  slowest average upload rate accepted (default 1024)\n"
          "  --upload-grace SECONDS time before the rate is checked (default 10)\n"
          "  --max-header-bytes N   request header memory per connection (default 32768)\n"
          "  --port-file FILE       write the bound port to FILE once listening\n\n"
          "GET / answers a JSON status, or the page when the client accepts text/html.\n"
          "API description: GET /api/openapi.json, readable at /docs.\n");
}

static int parse_size(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || v < 0)
    return -1;
  double mul = 1;
  switch (*end) {
  case 'k': case 'K': mul = 1024.0; end++; break;
  case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
  case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
  default: break;
  }
  if (*end == 'i' || *end == 'B')
    end++;
  if (*end == 'B')
    end++;
  if (*end)
    return -1;
  *out = (int64_t)(v * mul);
  return 0;
}

static int parse_num(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static int is_dir(const char *p) {
  struct stat st;
  return p && !stat(p, &st) && S_ISDIR(st.st_mode);
}

int vd_cmd_serve(int argc, char **argv) {
  enum { O_LISTEN = 256, O_DATA, O_WORKERS, O_MAXUP, O_SAMPLES, O_WEB, O_LEASE, O_ATTEMPTS,
         O_TIMEOUT, O_RATE, O_GRACE, O_HDR, O_PORTFILE, O_DB };
  static const struct option opts[] = {
      {"help", no_argument, NULL, 'h'},
      {"listen", required_argument, NULL, O_LISTEN},
      {"data", required_argument, NULL, O_DATA},
      {"db", required_argument, NULL, O_DB},
      {"workers", required_argument, NULL, O_WORKERS},
      {"max-upload", required_argument, NULL, O_MAXUP},
      {"samples", required_argument, NULL, O_SAMPLES},
      {"web", required_argument, NULL, O_WEB},
      {"lease", required_argument, NULL, O_LEASE},
      {"max-attempts", required_argument, NULL, O_ATTEMPTS},
      {"timeout", required_argument, NULL, O_TIMEOUT},
      {"min-upload-rate", required_argument, NULL, O_RATE},
      {"upload-grace", required_argument, NULL, O_GRACE},
      {"max-header-bytes", required_argument, NULL, O_HDR},
      {"port-file", required_argument, NULL, O_PORTFILE},
      {NULL, 0, NULL, 0}};
  const char *listen = "127.0.0.1:8080", *data = "./var", *port_file = NULL, *db_loc = NULL;
  const char *samples = getenv("VIDAN_SAMPLES"), *web = getenv("VIDAN_WEB");
  int64_t max_upload = (int64_t)2 << 30;
  double workers = 0, lease = 30, attempts = 3, timeout = 30, rate = 1024, grace = 10,
         hdr = 32768;
  int c, li = 0, bad = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
    switch (c) {
    case 'h':
      usage(stdout);
      return VD_EXIT_OK;
    case O_LISTEN: listen = optarg; break;
    case O_DATA: data = optarg; break;
    case O_DB: db_loc = optarg; break;
    case O_WORKERS: bad |= parse_num(optarg, 1, 256, &workers); break;
    case O_MAXUP: bad |= parse_size(optarg, &max_upload); break;
    case O_SAMPLES: samples = optarg; break;
    case O_WEB: web = optarg; break;
    case O_LEASE: bad |= parse_num(optarg, 0.5, 86400, &lease); break;
    case O_ATTEMPTS: bad |= parse_num(optarg, 1, 100, &attempts); break;
    case O_TIMEOUT: bad |= parse_num(optarg, 1, 86400, &timeout); break;
    case O_RATE: bad |= parse_num(optarg, 1, 1e12, &rate); break;
    case O_GRACE: bad |= parse_num(optarg, 0.1, 86400, &grace); break;
    case O_HDR: bad |= parse_num(optarg, 4096, 1 << 24, &hdr); break;
    case O_PORTFILE: port_file = optarg; break;
    default:
      usage(stderr);
      return VD_EXIT_USAGE;
    }
    if (bad) {
      fprintf(stderr, "vidan serve: bad value '%s' for --%s\n", optarg, opts[li].name);
      return VD_EXIT_USAGE;
    }
  }
  if (optind != argc) {
    usage(stderr);
    return VD_EXIT_USAGE;
  }
  if (!web)
    web = is_dir("./web") ? "./web" : VD_SOURCE_DIR "/web";
  if (!is_dir(web))
    web = NULL;
  if (samples && !is_dir(samples))
    VD_WARN("serve: sample folder %s does not exist", samples);

  /* Every thread started from here inherits the blocked set; the main
   * thread takes the signals with sigwait. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct vd_err err = {0};
  struct vd_store *store = NULL;
  struct vd_blobs *blobs = NULL;
  struct vd_webhooks *hooks = NULL;
  struct vd_jobs *jobs = NULL;
  struct vd_api *api = NULL;
  struct vd_http *http = NULL;
  struct vd_library *library = NULL; /* duplicate check: every video seen */
  struct vd_media_limits lim;
  char *db = db_loc ? vd_xstrdup(db_loc) : vd_xasprintf("%s/vidan.db", data), *bdir = vd_xasprintf("%s/blobs", data);
  char *wdir = vd_xasprintf("%s/work", data);
  int ret, code = VD_EXIT_FAIL;
  vd_cli_limits(&lim);
  if ((ret = vd_mkdirs(data)) < 0) {
    vd_err_set(&err, ret, "cannot create %s: %s", data, vd_strerror(ret));
    goto out;
  }
  if ((ret = vd_store_open(&store, db, &err)) < 0 || (ret = vd_blobs_open(&blobs, bdir, &err)) < 0)
    goto out;
  int swept = vd_blobs_sweep_tmp(blobs, 3600);
  if (swept)
    VD_INFO("serve: removed %d stale upload temp files", swept);
  if ((ret = vd_webhooks_start(&hooks, store, 5, 1.0, &err)) < 0)
    goto out;
  library = vd_library_new(store);
  struct vd_jobs_opts jo = {.store = store, .blobs = blobs, .work_dir = wdir,
                            .samples_dir = samples, .workers = (int)workers, .lease = lease,
                            .limits = &lim, .webhooks = hooks, .library = library};
  if ((ret = vd_jobs_start(&jobs, &jo, &err)) < 0)
    goto out;
  struct vd_api_opts ao = {.store = store, .blobs = blobs, .jobs = jobs, .webhooks = hooks,
                           .samples_dir = samples, .web_dir = web, .limits = &lim,
                           .max_attempts = (int)attempts, .max_upload = max_upload,
                           .library = library};
  api = vd_api_new(&ao);
  struct vd_http_opts ho = {.listen = listen, .routes = vd_api_routes(), .app = api,
                            .blobs = blobs, .max_upload = max_upload, .timeout = timeout,
                            .upload_grace = grace, .min_rate = rate,
                            .max_header_bytes = (size_t)hdr};
  if ((ret = vd_http_start(&http, &ho, &err)) < 0)
    goto out;
  vd_api_set_http(api, http);
  fprintf(stderr, "vidan serve: listening on http://%.*s:%d (data in %s, %d workers%s%s)\n",
          (int)(strrchr(listen, ':') - listen), listen, vd_http_port(http), data,
          workers > 0 ? (int)workers : vd_ncpu(), web ? ", page from " : "", web ? web : "");
  if (port_file) {
    char num[16];
    int n = snprintf(num, sizeof(num), "%d\n", vd_http_port(http));
    if (vd_write_file_atomic(port_file, num, (size_t)n) < 0)
      VD_WARN("serve: cannot write %s", port_file);
  }
  int sig = 0;
  sigwait(&set, &sig);
  fprintf(stderr, "vidan serve: %s, shutting down\n", sig == SIGINT ? "interrupted" : "terminated");
  code = VD_EXIT_OK;
out:
  if (code != VD_EXIT_OK) {
    fprintf(stderr, "vidan serve: %s\n", vd_err_msg(&err, ret));
    if (ret == VD_ERR_INVALID)
      code = VD_EXIT_USAGE;
  }
  if (api)
    vd_api_stop(api); /* compat E waits end before the connection threads are joined */
  vd_http_stop(http);
  vd_jobs_stop(jobs);
  vd_webhooks_stop(hooks);
  vd_api_free(api);
  vd_library_free(library);
  vd_blobs_free(blobs);
  vd_store_free(store);
  free(db);
  free(bdir);
  free(wdir);
  return code;
}
