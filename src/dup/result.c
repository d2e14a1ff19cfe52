/* result.c: the JSON form of duplicate-check answers (dup.h), shared by the
 * `duplicates` analysis and `vidan dup`, so both say the same thing. */
#include <math.h>

#include "dup/dup.h"

static json_t *sim(double v) { return v < 0 ? json_null() : json_real(round(v * 1000) / 1000); }

json_t *vd_dup_result_json(const struct vd_dup_hit *hits, size_t n, size_t compared_with) {
  json_t *matches = json_array(), *hard = json_array(), *dup_for = json_null();
  for (size_t i = 0; i < n; i++) {
    const struct vd_dup_match *m = &hits[i].match;
    const char *v = vd_dup_verdict_name(m->verdict);
    json_array_append_new(matches,
                          json_pack("{s:s, s:s, s:o, s:o, s:f, s:f}", "id", hits[i].id, "verdict",
                                    v, "picture", sim(m->picture), "sound", sim(m->sound),
                                    "offset", round(m->offset * 1000) / 1000, "coverage",
                                    round(m->coverage * 1000) / 1000));
    if (m->verdict == VD_DUP_VERDICT_DUPLICATE && json_is_null(dup_for))
      dup_for = json_string(hits[i].id);
    else if (m->verdict == VD_DUP_VERDICT_SAME_PICTURE || m->verdict == VD_DUP_VERDICT_SAME_SOUND)
      json_array_append_new(hard, json_pack("{s:s, s:s}", "id", hits[i].id, "verdict", v));
  }
  return json_pack("{s:b, s:o, s:o, s:o, s:I}", "is_duplicate", !json_is_null(dup_for),
                   "duplicate_for", dup_for, "hard_cases", hard, "matches", matches,
                   "compared_with", (json_int_t)compared_with);
}
