/*
 * registry.c: the table of analyses. Adding an analysis = one file exporting
 * its vd_analysis_def + one line here. The CLI's --help, the API's list of
 * valid names, the OpenAPI enum and the page's check boxes all read this.
 */
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/registry.h"
#include "core/util.h"

static const struct vd_analysis_def *const table[] = {
    &vd_analysis_probe,
    &vd_analysis_scenes,
    &vd_analysis_clips,
    &vd_analysis_faces,
    &vd_analysis_emotions,
    &vd_analysis_people,
    &vd_analysis_pose,
    &vd_analysis_objects,
    &vd_analysis_audio,
    &vd_analysis_transcript,
    &vd_analysis_text,
    &vd_analysis_storylines,
    &vd_analysis_fingerprint,
    &vd_analysis_duplicates,
    &vd_analysis_sleep,
};

const struct vd_analysis_def *const *vd_analysis_list(size_t *n) {
  *n = sizeof(table) / sizeof(table[0]);
  return table;
}

const struct vd_analysis_def *vd_analysis_find(const char *name) {
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    if (!strcmp(table[i]->name, name))
      return table[i];
  return NULL;
}

char *vd_analysis_names(void) {
  size_t len = 1;
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    len += strlen(table[i]->name) + 2;
  char *s = vd_xmalloc(len), *p = s;
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    size_t n = strlen(table[i]->name);
    if (i) {
      memcpy(p, ", ", 2);
      p += 2;
    }
    memcpy(p, table[i]->name, n);
    p += n;
  }
  *p = '\0';
  return s;
}
