/*
 * scenes_out.c: the scenes result as JSON, CSV and CMX 3600 EDL. See
 * scenes_out.h; the JSON schema is documented in docs/scenes.md.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "analyze/scenes_out.h"
#include "core/util.h"

/* Times are rounded to the microsecond so JSON stays short and stable. */
static json_t *secs(double t) { return json_real(round(t * 1e6) / 1e6); }

static json_t *tc(double t) {
  char b[32];
  vd_timecode(t, b, sizeof(b));
  return json_string(b);
}

json_t *vd_scenes_result_json(const struct vd_scenes_summary *s) {
  json_t *cuts = json_array(), *scenes = json_array(), *flashes = json_array();
  double dur = s->frames > 0 ? s->end_time - s->start_time : 0;
  for (size_t i = 0; i < s->ncuts; i++) {
    const struct vd_scenes_cut *c = &s->cuts[i];
    json_array_append_new(cuts, json_pack("{s:I, s:o, s:o, s:o}", "frame", (json_int_t)c->frame,
                                          "time", secs(c->time), "timecode", tc(c->time), "score",
                                          json_real(round(c->score * 1000) / 1000)));
  }
  if (s->frames > 0) {
    for (size_t i = 0; i <= s->ncuts; i++) {
      int64_t f0 = i ? s->cuts[i - 1].frame : 0;
      int64_t f1 = i < s->ncuts ? s->cuts[i].frame - 1 : s->frames - 1;
      double t0 = i ? s->cuts[i - 1].time : s->start_time;
      double t1 = i < s->ncuts ? s->cuts[i].time : s->end_time;
      const char *th = s->thumbs ? s->thumbs[i] : NULL;
      json_array_append_new(
          scenes, json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "index",
                            (json_int_t)(i + 1), "start_frame", (json_int_t)f0, "end_frame",
                            (json_int_t)f1, "frames", (json_int_t)(f1 - f0 + 1), "start_time",
                            secs(t0), "end_time", secs(t1), "duration", secs(t1 - t0),
                            "start_timecode", tc(t0), "end_timecode", tc(t1), "thumbnail",
                            th ? json_string(th) : json_null()));
    }
  }
  for (size_t i = 0; i < s->nflashes; i++) {
    const struct vd_scenes_flash *f = &s->flashes[i];
    json_array_append_new(flashes,
                          json_pack("{s:I, s:o, s:o, s:i, s:o, s:s}", "frame", (json_int_t)f->frame,
                                    "time", secs(f->time), "timecode", tc(f->time), "frames",
                                    f->frames, "score", json_real(round(f->score * 1000) / 1000),
                                    "kind", f->kind == VD_SCENES_FLICKER ? "flicker" : "flash"));
  }
  return json_pack("{s:s, s:f, s:i, s:b, s:o, s:I, s:o, s:o, s:o, s:o}", "detector", s->detector,
                   "threshold", s->threshold, "min_scene_len", s->min_scene_len, "flash_filter",
                   s->flash_filter, "fps", json_real(round(s->fps * 1e6) / 1e6), "frames",
                   (json_int_t)s->frames, "duration", secs(dur), "cuts", cuts, "scenes", scenes,
                   "flashes", flashes);
}

static double num(json_t *o, const char *k, int *ok) {
  json_t *v = json_object_get(o, k);
  if (!json_is_number(v))
    *ok = 0;
  return json_number_value(v);
}

/* A scene entry has every number the writers read. */
static int scene_ok(json_t *sc) {
  static const char *const keys[] = {"index", "start_frame", "end_frame", "start_time", "end_time"};
  int ok = json_is_object(sc);
  for (size_t k = 0; ok && k < sizeof(keys) / sizeof(keys[0]); k++)
    num(sc, keys[k], &ok);
  return ok;
}

static int written(FILE *f) { return ferror(f) ? -EIO : 0; }

/* The scene list of `result` when every entry is well-formed, else NULL:
 * checked before writing so a bad result writes nothing. */
static json_t *valid_scenes(json_t *result) {
  json_t *scenes = json_object_get(result, "scenes"), *sc;
  size_t i;
  if (!json_is_array(scenes))
    return NULL;
  json_array_foreach(scenes, i, sc) {
    if (!scene_ok(sc))
      return NULL;
  }
  return scenes;
}

int vd_scenes_write_csv(json_t *result, FILE *f) {
  json_t *scenes = valid_scenes(result), *sc;
  size_t i;
  if (!scenes)
    return VD_ERR_INVALID;
  char b0[32], b1[32], b2[32];
  fputs("Timecode List:", f);
  json_array_foreach(scenes, i, sc) {
    if (!i)
      continue;
    int ok = 1;
    vd_timecode(num(sc, "start_time", &ok), b0, sizeof(b0));
    fprintf(f, ",%s", b0);
  }
  fputs("\nScene Number,Start Frame,Start Timecode,Start Time (seconds),End Frame,End Timecode,"
        "End Time (seconds),Length (frames),Length (timecode),Length (seconds)\n",
        f);
  json_array_foreach(scenes, i, sc) {
    int ok = 1;
    long long f0 = (long long)num(sc, "start_frame", &ok), f1 = (long long)num(sc, "end_frame", &ok);
    double t0 = num(sc, "start_time", &ok), t1 = num(sc, "end_time", &ok);
    vd_timecode(t0, b0, sizeof(b0));
    vd_timecode(t1, b1, sizeof(b1));
    vd_timecode(t1 - t0, b2, sizeof(b2));
    fprintf(f, "%lld,%lld,%s,%.3f,%lld,%s,%.3f,%lld,%s,%.3f\n", (long long)num(sc, "index", &ok),
            f0 + 1, b0, t0, f1 + 1, b1, t1, f1 - f0 + 1, b2, t1 - t0);
  }
  return written(f);
}

int vd_scenes_write_edl(json_t *result, const char *title, FILE *f) {
  json_t *scenes = valid_scenes(result), *sc;
  size_t i;
  int ok = 1;
  double fps = num(result, "fps", &ok);
  if (!scenes || !ok || !(fps > 0))
    return VD_ERR_INVALID;
  /* A title is one line: anything that would end it early is replaced. */
  char t[128];
  snprintf(t, sizeof(t), "%s", title && *title ? title : "vidan");
  for (char *p = t; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  fprintf(f, "TITLE: %s\nFCM: NON-DROP FRAME\n\n", t);
  json_array_foreach(scenes, i, sc) {
    char in[32], out[32];
    int64_t fin = (int64_t)llround(num(sc, "start_time", &ok) * fps);
    int64_t fout = (int64_t)llround(num(sc, "end_time", &ok) * fps);
    vd_timecode_smpte(fin, fps, in, sizeof(in));
    vd_timecode_smpte(fout, fps, out, sizeof(out));
    fprintf(f, "%03zu  AX       V     C        %s %s %s %s\n", i + 1, in, out, in, out);
  }
  return written(f);
}
