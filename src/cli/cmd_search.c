/*
 * cmd_search.c: `vidan search [--data DIR | --db LOCATION] WORDS...` finds
 * where words were said, shown or named across the library that `vidan
 * serve` keeps (the same store and the same ranking as GET /api/v1/search).
 * It only reads (opening a store from an older vidan migrates it, as
 * `vidan serve` would), so it may run beside the server.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/util.h"
#include "search/search.h"
#include "store/store.h"

static void usage(FILE *f) {
  fprintf(f, "usage: vidan search [options] WORDS...\n\n"
             "Finds every moment in the library where the words were said (transcript), shown\n"
             "on screen (text), seen (objects: person, dog...) or named (file name), best\n"
             "first. Every word must match, case and accents aside; the last one also\n"
             "matches as a prefix.\n\n"
             "options:\n"
             "  --data DIR      the data folder of `vidan serve` (default ./var)\n"
             "  --db LOCATION   its store, when not DIR/vidan.db (postgres://...)\n"
             "  --limit N       at most N hits (default 20, at most 1000)\n"
             "  --json          {\"query\", \"hits\": [...]} as the API answers\n\n"
             "Each line: file name, time range, analysis, the text with the matched words\n"
             "between \xc2\xab and \xc2\xbb, and the analysis id (the page opens it at\n"
             "#/analyses/<id>?t=<seconds>).\n\n"
             "Exit codes: 0 (no hits too: stderr says so), 2 a query with no word or over\n"
             "200 bytes or 16 words, 3 no library at DIR, 1 the store failed.\n");
}

/* m:ss.s, or h:mm:ss.s past an hour. */
static void fmt_time(double t, char *buf, size_t len) {
  int h = (int)(t / 3600), m = (int)(t / 60) % 60;
  double s = t - 60.0 * (double)(long)(t / 60);
  if (h)
    snprintf(buf, len, "%d:%02d:%04.1f", h, m, s);
  else
    snprintf(buf, len, "%d:%04.1f", m, s);
}

int vd_cmd_search(int argc, char **argv) {
  enum { O_DATA = 256, O_DB, O_LIMIT, O_JSON };
  static const struct option opts[] = {
      {"help", no_argument, NULL, 'h'},      {"data", required_argument, NULL, O_DATA},
      {"db", required_argument, NULL, O_DB}, {"limit", required_argument, NULL, O_LIMIT},
      {"json", no_argument, NULL, O_JSON},   {NULL, 0, NULL, 0}};
  const char *data = "./var", *db_loc = NULL;
  long limit = 20;
  int c, as_json = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'h':
      usage(stdout);
      return VD_EXIT_OK;
    case O_DATA:
      data = optarg;
      break;
    case O_DB:
      db_loc = optarg;
      break;
    case O_JSON:
      as_json = 1;
      break;
    case O_LIMIT:
      limit = strtol(optarg, &end, 10);
      if (*end || limit < 1 || limit > 1000) {
        fprintf(stderr, "vidan search: --limit wants 1..1000, not '%s'\n", optarg);
        return VD_EXIT_USAGE;
      }
      break;
    default:
      usage(stderr);
      return VD_EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return VD_EXIT_USAGE;
  }
  /* The words, as one query. */
  size_t qlen = 0;
  for (int i = optind; i < argc; i++)
    qlen += strlen(argv[i]) + 1;
  char *q = vd_xmalloc(qlen + 1), *p = q;
  for (int i = optind; i < argc; i++) {
    size_t n = strlen(argv[i]);
    memcpy(p, argv[i], n);
    p += n;
    *p++ = i + 1 < argc ? ' ' : '\0';
  }

  int code = VD_EXIT_OK, ret;
  struct vd_err err = {0};
  struct vd_store *store = NULL;
  struct vd_search_hit *hits = NULL;
  size_t n = 0;
  char *db = db_loc ? vd_xstrdup(db_loc) : vd_xasprintf("%s/vidan.db", data);
  struct stat st;
  if (!db_loc && stat(db, &st) != 0) {
    /* Opening would make an empty library; say where none was found. */
    fprintf(stderr, "vidan search: no library at %s (%s is missing; see --data)\n", data, db);
    code = VD_EXIT_INPUT;
    goto out;
  }
  if ((ret = vd_store_open(&store, db, &err)) < 0 ||
      (ret = vd_store_search_query(store, q, 0, (int)limit, &hits, &n, &err)) < 0) {
    fprintf(stderr, "vidan search: %s\n", vd_err_msg(&err, ret));
    code = ret == VD_ERR_INVALID || ret == VD_ERR_LIMIT ? VD_EXIT_USAGE : vd_cli_exit_code(ret);
    goto out;
  }
  if (as_json) {
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(list, vd_search_hit_json(&hits[i]));
    json_t *doc = json_pack("{s:s, s:o}", "query", q, "hits", list);
    vd_cli_print_json(doc);
    json_decref(doc);
  } else {
    for (size_t i = 0; i < n; i++) {
      const struct vd_search_hit *h = &hits[i];
      char t0[32], t1[32];
      fmt_time(h->start, t0, sizeof(t0));
      fmt_time(h->end, t1, sizeof(t1));
      /* One line per hit: line breaks inside on-screen text become spaces. */
      for (char *s = h->snippet; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
          *s = ' ';
      printf("%s\t%s-%s\t%s\t%s\t%s\n", h->filename[0] ? h->filename : h->file_id, t0, t1,
             h->analysis, h->snippet, h->job_id[0] ? h->job_id : "-");
    }
    if (!n)
      fprintf(stderr, "vidan search: no hits for '%s'\n", q);
  }
out:
  for (size_t i = 0; i < n; i++)
    vd_search_hit_fini(&hits[i]);
  free(hits);
  vd_store_free(store);
  free(db);
  free(q);
  return code;
}
