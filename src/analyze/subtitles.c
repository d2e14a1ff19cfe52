/*
 * subtitles.c: SRT, WebVTT and plain-text writers, and words cut into cues.
 * See subtitles.h for the formats and the rules.
 */
#include <math.h>
#include <string.h>

#include "analyze/subtitles.h"
#include "core/util.h"

void vd_subs_timestamp(double t, char sep, char *buf, size_t len) {
  long long ms = isfinite(t) && t > 0 ? llround(t * 1000.0) : 0;
  snprintf(buf, len, "%02lld:%02d:%02d%c%03d", ms / 3600000, (int)(ms / 60000 % 60),
           (int)(ms / 1000 % 60), sep, (int)(ms % 1000));
}

/* ---- text ------------------------------------------------------------------ */

static int is_blank(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* `s` with blank runs (line breaks included) as one space, trimmed; for SRT
 * also with every "-->" shortened to "->". Caller frees. */
static char *normalize(const char *s, int srt) {
  char *out = vd_xmalloc(strlen(s) + 1), *o = out;
  for (; *s; s++) {
    if (is_blank(*s)) {
      if (o > out && o[-1] != ' ')
        *o++ = ' ';
      continue;
    }
    *o++ = *s;
  }
  if (o > out && o[-1] == ' ')
    o--;
  *o = '\0';
  for (char *p; srt && (p = strstr(out, "-->")) != NULL;)
    memmove(p + 1, p + 2, strlen(p + 2) + 1); /* "-->" -> "->"; "--->" takes two turns */
  return out;
}

/* Breaks `s` (normalized: single spaces) into lines of at most `width`
 * bytes, in place, by turning spaces into '\n'. Two lines are split where
 * they come out most even; more are filled greedily. */
static void wrap(char *s, int width) {
  size_t len = strlen(s), w = width > 0 ? (size_t)width : 1;
  if (len <= w)
    return;
  /* greedy: break before a word that would overflow its line */
  int lines = 1;
  size_t ls = 0;
  char *prev = NULL; /* the last space seen, where a break can go */
  for (size_t i = 0; i <= len; i++) {
    if (i < len && s[i] != ' ')
      continue;
    if (i - ls > w && prev) {
      *prev = '\n';
      ls = (size_t)(prev - s) + 1;
      lines++;
    }
    prev = i < len ? &s[i] : NULL;
  }
  if (lines != 2)
    return;
  /* two lines: the space whose halves are most even, both within width */
  char *br = strchr(s, '\n'), *best = br;
  size_t best_max = (size_t)-1;
  *br = ' ';
  for (char *p = strchr(s, ' '); p; p = strchr(p + 1, ' ')) {
    size_t a = (size_t)(p - s), b = len - a - 1;
    size_t m = a > b ? a : b;
    if (a <= w && b <= w && m < best_max) {
      best_max = m;
      best = p;
    }
  }
  *best = '\n';
}

static void put_escaped_vtt(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '&')
      fputs("&amp;", f);
    else if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '>')
      fputs("&gt;", f);
    else
      fputc(*s, f);
  }
}

int vd_subs_write(FILE *f, enum vd_subs_format fmt, const struct vd_cue *cues, size_t n,
                  int line_chars) {
  if (fmt == VD_SUBS_VTT)
    fputs("WEBVTT\n\n", f);
  size_t num = 0;
  for (size_t i = 0; i < n; i++) {
    char *t = normalize(cues[i].text ? cues[i].text : "", fmt == VD_SUBS_SRT);
    if (!*t) {
      free(t);
      continue;
    }
    if (fmt == VD_SUBS_TXT) {
      fprintf(f, "%s\n", t);
      free(t);
      continue;
    }
    double start = cues[i].start, end = cues[i].end;
    if (!(end >= start))
      end = start;
    char a[32], b[32];
    char sep = fmt == VD_SUBS_SRT ? ',' : '.';
    vd_subs_timestamp(start, sep, a, sizeof(a));
    vd_subs_timestamp(end, sep, b, sizeof(b));
    fprintf(f, "%zu\n%s --> %s\n", ++num, a, b);
    wrap(t, line_chars);
    if (fmt == VD_SUBS_VTT)
      put_escaped_vtt(f, t);
    else
      fputs(t, f);
    fputs("\n\n", f);
    free(t);
  }
  return ferror(f) ? VD_ERR_INTERNAL : 0;
}

/* ---- cues ------------------------------------------------------------------- */

static void cue_push(struct vd_cue **cues, size_t *n, double start, double end, const char *text,
                     size_t len) {
  /* grow in powers of two: *n is the only state the caller keeps */
  if ((*n & (*n - 1)) == 0)
    *cues = vd_xrealloc(*cues, (*n ? 2 * *n : 1) * sizeof(**cues));
  char *t = vd_xmalloc(len + 1);
  memcpy(t, text, len);
  t[len] = '\0';
  (*cues)[(*n)++] = (struct vd_cue){.start = start, .end = end, .text = t};
}

/* The length a cue aims at so that `remaining` characters make pieces of
 * about equal length, none longer than `max`. */
static size_t piece_target(size_t remaining, size_t max) {
  size_t k = (remaining + max - 1) / max;
  return k ? (remaining + k - 1) / k : max;
}

void vd_subs_cues(const struct vd_sub_word *w, size_t nw, int line_chars, struct vd_cue **cues,
                  size_t *n) {
  size_t max = 2 * (size_t)(line_chars > 0 ? line_chars : VD_SUBS_LINE_CHARS);
  size_t remaining = 0, nwords = 0;
  for (size_t i = 0; i < nw; i++)
    if (w[i].text && *w[i].text) {
      remaining += strlen(w[i].text) + (nwords ? 1 : 0);
      nwords++;
    }
  if (!nwords)
    return;
  size_t target = piece_target(remaining, max);
  char *buf = vd_xmalloc(remaining + 1);
  size_t len = 0;
  double t0 = 0, t1 = 0;
  for (size_t i = 0; i < nw; i++) {
    if (!w[i].text || !*w[i].text)
      continue;
    size_t wl = strlen(w[i].text);
    if (len) {
      size_t with = len + 1 + wl;
      /* break before this word when it would not fit, when the piece is
       * nearer its target without it, or when the cue would stay too long */
      if (with > max || (with > target && (len >= target || with - target > target - len)) ||
          w[i].end - t0 > VD_SUBS_MAX_CUE) {
        cue_push(cues, n, t0, t1, buf, len);
        remaining -= len + 1;
        target = piece_target(remaining, max);
        len = 0;
      }
    }
    if (!len)
      t0 = w[i].start;
    else
      buf[len++] = ' ';
    memcpy(buf + len, w[i].text, wl);
    len += wl;
    t1 = w[i].end;
  }
  cue_push(cues, n, t0, t1, buf, len);
  free(buf);
}

void vd_subs_cues_free(struct vd_cue *cues, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(cues[i].text);
  free(cues);
}

/* A segment with text but no word times: its words share its span in
 * proportion to their length. */
static void cues_from_text(const char *text, double start, double end, int line_chars,
                           struct vd_cue **cues, size_t *n) {
  char *t = normalize(text, 0);
  size_t len = strlen(t), nw = 0;
  struct vd_sub_word *w = vd_xmalloc((len / 2 + 1) * sizeof(*w));
  double per = len ? (end - start) / (double)len : 0;
  for (char *p = t; *p;) {
    char *sp = strchr(p, ' ');
    if (sp)
      *sp = '\0';
    w[nw++] = (struct vd_sub_word){start + per * (double)(p - t),
                                   start + per * (double)(p - t + (long)strlen(p)), p};
    p = sp ? sp + 1 : p + strlen(p);
  }
  vd_subs_cues(w, nw, line_chars, cues, n);
  free(w);
  free(t);
}

int vd_subs_cues_from_transcript(json_t *result, int line_chars, struct vd_cue **cues,
                                 size_t *n) {
  json_t *segs = json_object_get(result, "segments");
  if (!json_is_array(segs))
    return VD_ERR_INVALID;
  size_t i, j;
  json_t *seg, *wd;
  struct vd_sub_word *w = NULL;
  size_t cap = 0;
  int ret = 0;
  json_array_foreach(segs, i, seg) {
    json_t *words = json_object_get(seg, "words");
    const char *text = json_string_value(json_object_get(seg, "text"));
    json_t *js = json_object_get(seg, "start"), *je = json_object_get(seg, "end");
    if (!json_is_number(js) || !json_is_number(je) || (words && !json_is_array(words))) {
      ret = VD_ERR_INVALID;
      break;
    }
    if (json_array_size(words) == 0) {
      if (text)
        cues_from_text(text, json_number_value(js), json_number_value(je), line_chars, cues, n);
      continue;
    }
    if (json_array_size(words) > cap) {
      cap = json_array_size(words);
      w = vd_xrealloc(w, cap * sizeof(*w));
    }
    json_array_foreach(words, j, wd) {
      json_t *ws = json_object_get(wd, "start"), *we = json_object_get(wd, "end");
      const char *t = json_string_value(json_object_get(wd, "word"));
      if (!t || !json_is_number(ws) || !json_is_number(we)) {
        ret = VD_ERR_INVALID;
        goto out;
      }
      w[j] = (struct vd_sub_word){json_number_value(ws), json_number_value(we), t};
    }
    vd_subs_cues(w, json_array_size(words), line_chars, cues, n);
  }
out:
  free(w);
  return ret;
}
