/*
 * text_ocr.c: Tesseract (its C API) behind text_ocr.h.
 *
 * DESIGN
 * - Languages are checked before Tesseract sees them: its own failure is a
 *   line on stderr and -1, which would tell the user nothing. We look for
 *   <lang>.traineddata where Debian's Tesseract does (TESSDATA_PREFIX, then
 *   /usr/share/tesseract-ocr/{5,4.00}/tessdata) and hand that folder to
 *   Tesseract, so the check and the engine agree.
 * - Page segmentation "sparse text" (PSM 11) by default: a video frame is
 *   no page. Titles, captions and signs are scattered short lines on a busy
 *   picture, and the page layout analysis of the default mode either merges
 *   them with the background or drops them.
 * - Binarisation by Sauvola's local threshold (thresholding_method 2), not
 *   the global Otsu default: a caption is light text on a dark box on a
 *   picture of any brightness, and one threshold for the whole frame often
 *   put box and background on one side and lost the text. On the captions
 *   of tests/integration/test_text.sh, Otsu missed "HELLO WORLD" on one
 *   background and read "Second 42" for "Second caption 42"; Sauvola read
 *   both on both backgrounds at about the same speed (tiled Otsu, method 1,
 *   was worse and 4x slower).
 * - Two passes (option `light_text`): the picture as it is, and a mask of
 *   its light pixels (grey >= 200) drawn as black ink on white. Tesseract
 *   reads dark text on light, and the usual caption is white letters on a
 *   dark box or with a dark outline: read as they are, or as the negative,
 *   outlined captions came back empty or cut ("caption 42" for "Second
 *   caption 42") on 9 of 10 random backgrounds; with the mask all 10 were
 *   exact. Where both passes read a line in one place, the reading with
 *   more confident text (confidence x length) stays.
 * - The picture is passed as raw grey pixels (no Leptonica copy), at 70 dpi
 *   declared: a video frame has no resolution, and this is what Tesseract
 *   assumes anyway, minus its warning on every frame.
 */
#include "analyze/text_ocr.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

#ifdef VD_HAVE_TESSERACT
#include <tesseract/capi.h>
#endif

#define LANG_MAX 128 /* bytes of a `lang` value */
#define BRIGHT 200   /* grey level from which a pixel counts as light text */

#ifdef VD_HAVE_TESSERACT

struct vd_textocr {
  TessBaseAPI *api;
  ETEXT_DESC *monitor; /* carries the per-frame budget (over_budget) */
  int deadline_ms;
  float min_conf;
  int light;        /* also read the light-text mask */
  uint8_t *inv;     /* the light-text mask, inv_cap bytes */
  size_t inv_cap;
  int omp_set;      /* omp_dynamic_here() ran (on the OCR thread) */
};

/* The tessdata folder Tesseract will read, or NULL. Caller frees. */
static char *tessdata_dir(void) {
  const char *env = getenv("TESSDATA_PREFIX");
  const char *cands[] = {env, "/usr/share/tesseract-ocr/5/tessdata",
                         "/usr/share/tesseract-ocr/4.00/tessdata", "/usr/share/tessdata"};
  for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
    if (!cands[i] || !*cands[i])
      continue;
    if (access(cands[i], R_OK | X_OK) == 0)
      return vd_xstrdup(cands[i]);
    if (i == 0) /* an explicit setting that does not exist is the answer */
      return vd_xstrdup(cands[i]);
  }
  return NULL;
}

/* "eng, deu" from the *.traineddata in `dir` (osd is no language). */
static char *installed_langs(const char *dir) {
  char *out = vd_xstrdup("");
  DIR *d = dir ? opendir(dir) : NULL;
  if (!d)
    return out;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name), k = strlen(".traineddata");
    if (n <= k || strcmp(e->d_name + n - k, ".traineddata") || !strncmp(e->d_name, "osd.", 4))
      continue;
    char *next = vd_xasprintf("%s%s%.*s", out, *out ? ", " : "", (int)(n - k), e->d_name);
    free(out);
    out = next;
  }
  closedir(d);
  return out;
}

/* Checks every '+'-separated language of `lang` against `dir`. */
static int check_langs(const char *lang, const char *dir, struct vd_err *err) {
  size_t len = strlen(lang);
  if (len == 0 || len > LANG_MAX || strspn(lang, "abcdefghijklmnopqrstuvwxyz"
                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+") != len ||
      lang[0] == '+' || lang[len - 1] == '+' || strstr(lang, "++"))
    return vd_err_set(err, VD_ERR_INVALID,
                      "text: lang \"%.*s\" is not a Tesseract language list (names such as "
                      "\"eng\" or \"eng+deu\")",
                      LANG_MAX, lang);
  if (!dir)
    return vd_err_set(err, VD_ERR_INVALID,
                      "text: no Tesseract language data found (install tesseract-ocr-eng, or "
                      "set TESSDATA_PREFIX)");
  for (const char *p = lang; *p;) {
    size_t n = strcspn(p, "+");
    char *path = vd_xasprintf("%s/%.*s.traineddata", dir, (int)n, p);
    int ok = access(path, R_OK) == 0;
    free(path);
    if (!ok) {
      char *have = installed_langs(dir);
      int rc = vd_err_set(err, VD_ERR_INVALID,
                          "text: language \"%.*s\" is not installed (no %.*s.traineddata in %s; "
                          "installed: %s; on Debian: apt-get install tesseract-ocr-%.*s)",
                          (int)n, p, (int)n, p, dir, *have ? have : "none", (int)n, p);
      free(have);
      return rc;
    }
    p += n + (p[n] == '+');
  }
  return 0;
}

int vd_textocr_new(struct vd_textocr **out, const struct vd_textocr_opts *o, struct vd_err *err) {
  *out = NULL;
  char *dir = tessdata_dir();
  int rc = check_langs(o->lang, dir, err);
  if (rc < 0)
    goto out;
  struct vd_textocr *t = vd_xcalloc(1, sizeof(*t));
  t->min_conf = o->min_confidence;
  t->light = o->light_text;
  t->deadline_ms = o->max_seconds > 0 ? (int)(o->max_seconds * 1000.0) : 0;
  t->monitor = TessMonitorCreate();
  t->api = TessBaseAPICreate();
  /* Init3 = the LSTM engine with default settings; debug output off. */
  if (TessBaseAPIInit3(t->api, dir, o->lang) != 0) {
    vd_textocr_free(t);
    rc = vd_err_set(err, VD_ERR_INTERNAL, "text: Tesseract could not load \"%s\" from %s",
                    o->lang, dir);
    goto out;
  }
  TessBaseAPISetVariable(t->api, "debug_file", "/dev/null");
  /* Sauvola: a local threshold, see DESIGN */
  TessBaseAPISetVariable(t->api, "thresholding_method", "2");
  TessBaseAPISetPageSegMode(t->api, (TessPageSegMode)o->psm);
  *out = t;
out:
  free(dir);
  return rc;
}

void vd_textocr_free(struct vd_textocr *o) {
  if (!o)
    return;
  if (o->api) {
    TessBaseAPIEnd(o->api);
    TessBaseAPIDelete(o->api);
  }
  if (o->monitor)
    TessMonitorDelete(o->monitor);
  free(o->inv);
  free(o);
}

/* A line being built from words. */
struct linebuf {
  char *text;
  size_t len, cap;
  int l, t, r, b;   /* pixel box of the kept words */
  double conf_sum;
  int words, alnum;
};

static void line_add(struct linebuf *lb, const char *w, float conf, int l, int t, int r, int b) {
  size_t n = strlen(w);
  if (lb->len + n + 2 > lb->cap) {
    lb->cap = (lb->len + n + 2) * 2;
    lb->text = vd_xrealloc(lb->text, lb->cap);
  }
  if (lb->len)
    lb->text[lb->len++] = ' ';
  memcpy(lb->text + lb->len, w, n + 1);
  lb->len += n;
  if (lb->words == 0) {
    lb->l = l, lb->t = t, lb->r = r, lb->b = b;
  } else {
    lb->l = l < lb->l ? l : lb->l, lb->t = t < lb->t ? t : lb->t;
    lb->r = r > lb->r ? r : lb->r, lb->b = b > lb->b ? b : lb->b;
  }
  lb->conf_sum += conf;
  lb->words++;
  for (const unsigned char *p = (const unsigned char *)w; *p; p++)
    lb->alnum += (*p >= 0xC0) || (*p < 0x80 && ((*p >= '0' && *p <= '9') ||
                                                ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')));
}

/* Ends the line in `lb`: appended to `s` if it has enough text, reset. */
static void line_end(struct linebuf *lb, struct vd_text_sample *s, int *cap, int w, int h) {
  if (lb->words > 0 && lb->alnum >= 2) {
    if (s->n == *cap) {
      *cap = *cap ? *cap * 2 : 8;
      s->lines = vd_xrealloc(s->lines, (size_t)*cap * sizeof(*s->lines));
    }
    struct vd_text_line *L = &s->lines[s->n++];
    L->text = vd_xstrdup(lb->text);
    L->box[0] = (float)lb->l / (float)w;
    L->box[1] = (float)lb->t / (float)h;
    L->box[2] = (float)(lb->r - lb->l) / (float)w;
    L->box[3] = (float)(lb->b - lb->t) / (float)h;
    L->confidence = (float)(lb->conf_sum / lb->words);
    L->words = lb->words;
  }
  lb->len = 0;
  if (lb->text)
    lb->text[0] = '\0';
  lb->words = lb->alnum = 0;
  lb->conf_sum = 0;
}

/* Top to bottom in bands of 1/40 of the height, then left to right: lines
 * side by side keep one order even when their tops differ by a pixel. */
static int line_cmp(const void *a, const void *b) {
  const struct vd_text_line *x = a, *y = b;
  int bx = (int)((x->box[1] + x->box[3] / 2) * 40), by = (int)((y->box[1] + y->box[3] / 2) * 40);
  if (bx != by)
    return bx < by ? -1 : 1;
  return x->box[0] < y->box[0] ? -1 : x->box[0] > y->box[0];
}

/*
 * Debian's Tesseract runs parts of its LSTM on OpenMP teams of a fixed size
 * (num_threads clauses), whose threads spin after each region. On 2 cores,
 * beside the decoder, that made OCR four times slower (16.6 s instead of
 * 3.8 s of OCR for 60 frames, bench numbers in docs/text.md), mostly system
 * time. OMP_THREAD_LIMIT=1 fixes it but is read once, when libgomp loads,
 * before main(). What can still change is this thread's dynamic adjustment
 * (omp_set_dynamic: teams shrink to the cores the load average leaves
 * free), looked up at run time so that vidan need not link libgomp itself.
 * Called on the thread that runs OCR.
 */
static void omp_dynamic_here(void) {
  void (*set_dynamic)(int) = NULL;
  void *sym = dlsym(RTLD_DEFAULT, "omp_set_dynamic");
  memcpy(&set_dynamic, &sym, sizeof(sym)); /* object to function pointer, as POSIX allows */
  if (set_dynamic)
    set_dynamic(1);
}

/*
 * The per-frame budget counts the CPU time of the thread running OCR, not
 * the wall clock: on a loaded machine (CI running two sanitizer tests at
 * once, or a server busy with other jobs) a wall-clock deadline cut OCR
 * short on plain captions, so results depended on the load. Tesseract
 * checks its cancel function where it checks its own deadline, between
 * words. With Debian's OpenMP teams the other team threads' time is not
 * counted, so the budget is a little looser than on one thread; it exists
 * to stop pathological texture, not to be exact.
 */
struct ocr_budget {
  double cpu_end; /* thread CPU seconds at which OCR gives up */
  int fired;      /* 1 once the budget cut OCR short */
};

static double thread_cpu(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return vd_now(); /* no thread clock: fall back to the wall clock */
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool over_budget(void *opaque, int words) {
  (void)words;
  struct ocr_budget *b = opaque;
  if (thread_cpu() < b->cpu_end)
    return false;
  b->fired = 1;
  return true;
}

/* One Tesseract pass over the picture: its lines into `out` (empty). */
static int recognise(struct vd_textocr *o, const uint8_t *grey, int w, int h, int stride,
                     int deadline_ms, struct vd_text_sample *out, int *timed_out,
                     struct vd_err *err) {
  out->lines = NULL;
  out->n = 0;
  TessBaseAPISetImage(o->api, grey, w, h, 1, stride);
  TessBaseAPISetSourceResolution(o->api, 70);
  ETEXT_DESC *mon = NULL;
  struct ocr_budget budget = {0};
  if (deadline_ms > 0) { /* the budget counts from now */
    budget.cpu_end = thread_cpu() + deadline_ms / 1000.0;
    mon = o->monitor;
    TessMonitorSetCancelThis(mon, &budget);
    TessMonitorSetCancelFunc(mon, over_budget);
  }
  if (TessBaseAPIRecognize(o->api, mon) != 0) {
    if (!budget.fired) {
      TessBaseAPIClear(o->api);
      return vd_err_set(err, VD_ERR_INTERNAL, "text: Tesseract failed on a %dx%d frame", w, h);
    }
    *timed_out = 1; /* what was recognised before the deadline is still read below */
  }
  TessResultIterator *ri = TessBaseAPIGetIterator(o->api);
  struct linebuf lb = {0};
  int cap = 0;
  if (ri) {
    do {
      const TessPageIterator *pi = TessResultIteratorGetPageIteratorConst(ri);
      if (TessPageIteratorIsAtBeginningOf(pi, RIL_TEXTLINE))
        line_end(&lb, out, &cap, w, h);
      char *word = TessResultIteratorGetUTF8Text(ri, RIL_WORD);
      if (!word)
        continue;
      float conf = TessResultIteratorConfidence(ri, RIL_WORD) / 100.0f;
      int l, t, r, b;
      if (conf >= o->min_conf && vd_text_word_ok(word) &&
          TessPageIteratorBoundingBox(pi, RIL_WORD, &l, &t, &r, &b))
        line_add(&lb, word, conf, l, t, r, b);
      TessDeleteText(word);
    } while (TessResultIteratorNext(ri, RIL_WORD));
    line_end(&lb, out, &cap, w, h);
    TessResultIteratorDelete(ri);
  }
  free(lb.text);
  TessBaseAPIClear(o->api);
  return 0;
}

/* Adds the lines of `inv` (the light-text mask's reading) to `out`: where
 * both read something in one place, the more confident reading stays. */
static void merge_light(struct vd_text_sample *out, struct vd_text_sample *inv) {
  out->lines = vd_xrealloc(out->lines, (size_t)(out->n + inv->n + 1) * sizeof(*out->lines));
  for (int i = 0; i < inv->n; i++) {
    struct vd_text_line *l = &inv->lines[i];
    int keep = 1;
    for (int k = 0; k < out->n && keep; k++) {
      if (!vd_text_boxes_overlap(l->box, out->lines[k].box))
        continue;
      /* the reading with more confident text: "WORLD" at 0.96 does not beat
       * "HELLO WORLD" at 0.93 */
      if (l->confidence * (float)strlen(l->text) >
          out->lines[k].confidence * (float)strlen(out->lines[k].text)) { /* replaces it */
        vd_text_line_fini(&out->lines[k]);
        out->lines[k] = out->lines[--out->n];
        k--;
      } else {
        keep = 0;
      }
    }
    if (keep) {
      out->lines[out->n++] = *l;
      l->text = NULL;
    }
  }
  vd_text_sample_clear(inv);
}

int vd_textocr_run(struct vd_textocr *o, const uint8_t *grey, int w, int h, int stride,
                   struct vd_text_sample *out, int *timed_out, struct vd_err *err) {
  *timed_out = 0;
  if (!o->omp_set) {
    omp_dynamic_here();
    o->omp_set = 1;
  }
  double t0 = thread_cpu();
  int rc = recognise(o, grey, w, h, stride, o->deadline_ms, out, timed_out, err);
  /* the budget is the frame's: the second pass gets what the first left */
  int left = o->deadline_ms - (int)((thread_cpu() - t0) * 1000.0);
  if (o->deadline_ms > 0 && left < 50)
    *timed_out = 1;
  else if (rc == 0 && o->light) {
    size_t need = (size_t)w * (size_t)h;
    if (o->inv_cap < need) {
      free(o->inv);
      o->inv = vd_xmalloc(need);
      o->inv_cap = need;
    }
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        o->inv[(size_t)y * (size_t)w + (size_t)x] =
            grey[(size_t)y * (size_t)stride + (size_t)x] >= BRIGHT ? 0 : 255;
    struct vd_text_sample inv = {0};
    int t2 = 0;
    rc = recognise(o, o->inv, w, h, w, o->deadline_ms > 0 ? left : 0, &inv, &t2, err);
    *timed_out |= t2;
    merge_light(out, &inv);
  }
  if (rc < 0) {
    vd_text_sample_clear(out);
    return rc;
  }
  if (out->n > 1)
    qsort(out->lines, (size_t)out->n, sizeof(*out->lines), line_cmp);
  return 0;
}

#else /* !VD_HAVE_TESSERACT */

int vd_textocr_new(struct vd_textocr **out, const struct vd_textocr_opts *o, struct vd_err *err) {
  (void)o;
  *out = NULL;
  return vd_err_set(err, VD_ERR_UNSUPPORTED,
                    "text: this vidan was built without Tesseract OCR (install libtesseract-dev "
                    "and tesseract-ocr-eng, e.g. with scripts/deps, and rebuild)");
}

void vd_textocr_free(struct vd_textocr *o) { (void)o; }

int vd_textocr_run(struct vd_textocr *o, const uint8_t *grey, int w, int h, int stride,
                   struct vd_text_sample *out, int *timed_out, struct vd_err *err) {
  (void)o, (void)grey, (void)w, (void)h, (void)stride;
  *timed_out = 0;
  out->lines = NULL;
  out->n = 0;
  return vd_err_set(err, VD_ERR_UNSUPPORTED, "text: built without Tesseract OCR");
}

#endif
