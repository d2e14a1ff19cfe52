/*
 * registry.h: the analysis definitions that registry.c lists. Private to
 * src/analyze and the tests; everyone else goes through vd_analysis_find().
 */
#ifndef VD_ANALYZE_REGISTRY_H
#define VD_ANALYZE_REGISTRY_H

#include "analyze/analyze.h"

extern const struct vd_analysis_def vd_analysis_probe;
extern const struct vd_analysis_def vd_analysis_scenes;
extern const struct vd_analysis_def vd_analysis_clips;
extern const struct vd_analysis_def vd_analysis_faces;
extern const struct vd_analysis_def vd_analysis_emotions;
extern const struct vd_analysis_def vd_analysis_people;
extern const struct vd_analysis_def vd_analysis_pose;
extern const struct vd_analysis_def vd_analysis_objects;
extern const struct vd_analysis_def vd_analysis_audio;
extern const struct vd_analysis_def vd_analysis_transcript;
extern const struct vd_analysis_def vd_analysis_text;
extern const struct vd_analysis_def vd_analysis_storylines;
extern const struct vd_analysis_def vd_analysis_fingerprint;
extern const struct vd_analysis_def vd_analysis_duplicates;
extern const struct vd_analysis_def vd_analysis_sleep;

/* probe's JSON, reusable by the API's upload response. Caller owns it. */
json_t *vd_probe_json(const struct vd_media_info *in);

#endif
