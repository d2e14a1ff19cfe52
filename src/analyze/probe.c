/*
 * probe.c: the `probe` analysis. Everything comes from the container and
 * stream headers that vd_media_open() already read, so probe subscribes to
 * nothing and adds no decoding to a run.
 */
#include <math.h>
#include <string.h>

#include "analyze/registry.h"
#include "core/util.h"

static json_t *num_or_null(double v) { return v > 0 && isfinite(v) ? json_real(v) : json_null(); }
static json_t *int_or_null(int64_t v) { return v > 0 ? json_integer(v) : json_null(); }
static json_t *str_or_null(const char *s) { return s && *s ? json_string(s) : json_null(); }

static json_t *stream_json(const struct vd_stream_info *s) {
  json_t *o = json_pack("{s:i, s:s, s:o, s:o, s:o, s:f, s:o, s:o}", "index", s->index, "type",
                        s->type, "codec", str_or_null(s->codec), "profile", str_or_null(s->profile),
                        "bit_rate", int_or_null(s->bit_rate), "start_time", s->start_time,
                        "duration", num_or_null(s->duration), "language", str_or_null(s->language));
  if (!strcmp(s->type, "video")) {
    json_object_set_new(o, "width", json_integer(s->width));
    json_object_set_new(o, "height", json_integer(s->height));
    json_object_set_new(o, "pix_fmt", str_or_null(s->pix_fmt));
    json_object_set_new(o, "sample_aspect_ratio", json_sprintf("%d:%d", s->sar_num, s->sar_den));
    json_object_set_new(o, "avg_frame_rate", num_or_null(s->avg_fps));
    json_object_set_new(o, "real_frame_rate", num_or_null(s->r_fps));
    json_object_set_new(o, "frames", int_or_null(s->frames));
    json_object_set_new(o, "rotation", json_integer(s->rotation));
  } else if (!strcmp(s->type, "audio")) {
    json_object_set_new(o, "channels", json_integer(s->channels));
    json_object_set_new(o, "sample_rate", json_integer(s->sample_rate));
    json_object_set_new(o, "sample_fmt", str_or_null(s->sample_fmt));
    json_object_set_new(o, "channel_layout", str_or_null(s->channel_layout));
  }
  return o;
}

json_t *vd_probe_json(const struct vd_media_info *in) {
  json_t *streams = json_array();
  for (int i = 0; i < in->nb_streams; i++)
    json_array_append_new(streams, stream_json(&in->streams[i]));
  json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:f, s:o}", "container", in->container,
                        "container_long", in->container_long, "duration", num_or_null(in->duration),
                        "size", in->size >= 0 ? json_integer(in->size) : json_null(), "bit_rate",
                        int_or_null(in->bit_rate), "start_time", in->start_time, "streams", streams);
  json_t *v = json_null(), *a = json_null();
  if (in->video >= 0) {
    const struct vd_stream_info *s = &in->streams[in->video];
    v = json_pack("{s:i, s:s, s:i, s:i, s:i, s:i, s:s, s:s, s:o, s:o, s:o, s:i, s:o}", "stream",
                  s->index, "codec", s->codec, "width", s->width, "height", s->height,
                  "display_width", in->display_width, "display_height", in->display_height,
                  "display_aspect_ratio", "", "sample_aspect_ratio", "", "avg_frame_rate",
                  num_or_null(s->avg_fps), "real_frame_rate", num_or_null(s->r_fps), "frames",
                  int_or_null(in->est_frames), "rotation", s->rotation, "bit_rate",
                  int_or_null(s->bit_rate));
    json_object_set_new(v, "display_aspect_ratio",
                        in->dar_den ? json_sprintf("%d:%d", in->dar_num, in->dar_den) : json_null());
    json_object_set_new(v, "sample_aspect_ratio", json_sprintf("%d:%d", s->sar_num, s->sar_den));
    json_object_set_new(v, "frames_declared", json_boolean(s->frames > 0));
  }
  if (in->audio >= 0) {
    const struct vd_stream_info *s = &in->streams[in->audio];
    a = json_pack("{s:i, s:s, s:i, s:i, s:o, s:o}", "stream", s->index, "codec", s->codec,
                  "channels", s->channels, "sample_rate", s->sample_rate, "channel_layout",
                  str_or_null(s->channel_layout), "bit_rate", int_or_null(s->bit_rate));
  }
  json_object_set_new(o, "video", v);
  json_object_set_new(o, "audio", a);
  return o;
}

static int probe_finish(struct vd_actx *c, json_t **result) {
  *result = vd_probe_json(vd_actx_media_info(c));
  return 0;
}

static const struct vd_param_def probe_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL}};

const struct vd_analysis_def vd_analysis_probe = {
    .name = "probe",
    .summary = "Container, duration, frame rates, frame count, resolution, aspect, rotation, "
               "codecs, bit rates, audio channels and sample rate, and every stream.",
    .params = probe_params,
    .finish = probe_finish,
};
