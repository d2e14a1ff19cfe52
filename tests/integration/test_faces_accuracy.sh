#!/usr/bin/env bash
# Face detection accuracy against boxes drawn by eye, and the steadiness of
# the emotion read on one face over time. The truth is faces_truth.json (31
# faces on 31 frames of the five clips in shared testdata/faces, plus 5 frames
# with no face; its "comment" says how the boxes were made and what they
# cover). Each clip goes through `vidan analyze --analyses faces,emotions`;
# at each truth frame the detections of the sample at that time are matched
# greedily (highest IoU first) to the truth boxes, a pair counting when
# IoU >= 0.5. Printed: precision and recall per clip and overall, the IoU of
# the matches and how BlazeFace's boxes sit against the by-eye ones (they
# start near the eyebrows, the truth at the hairline), and, for the four
# clips with one face on screen throughout, that face's emotion consistency.
# The bars below are the measured values (docs/faces.md, Accuracy) less a
# margin: a miss or two, or a false face, is allowed; a shifted or rescaled
# box is not.
need_analyses="faces emotions"
source "$(dirname "$0")/faces_common.sh"
face_models
truth=$VD_SRC/tests/integration/faces_truth.json
[[ -f $truth ]] || { echo "FAIL: $truth is missing"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
present=0
for f in $(python3 -c 'import json,sys; print(" ".join(c["file"] for c in json.load(open(sys.argv[1]))["clips"]))' "$truth"); do
  if [[ ! -f $data/$f ]]; then
    echo "note: $data/$f absent, not scored"
    continue
  fi
  t0=$(date +%s.%N)
  timeout 300 "$VIDAN" analyze "$data/$f" --analyses faces,emotions --param faces.annotate=false \
    >"$tmp/$f.json" 2>"$tmp/$f.err" || {
    echo "FAIL: vidan analyze $f exited $?"
    cat "$tmp/$f.err"
    exit 1
  }
  t1=$(date +%s.%N)
  echo "$f $t0 $t1" >>"$tmp/times"
  present=$((present + 1))
done
((present)) || skip "none of the clips in $truth is in $data"
python3 - "$truth" "$tmp" <<'PY'
import json, os, statistics, sys

truth = json.load(open(sys.argv[1]))
tmp = sys.argv[2]
times = {}
for line in open(os.path.join(tmp, "times")):
    f, t0, t1 = line.split()
    times[f] = float(t1) - float(t0)
IOU_MIN = 0.5
fails = []


def iou(a, b):
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def match(gts, dets):
    """Greedy, highest IoU first; returns [(gt index, det index, iou)]."""
    pairs = sorted(((iou(g, d), i, j) for i, g in enumerate(gts) for j, d in enumerate(dets)), reverse=True)
    used_g, used_d, out = set(), set(), []
    for v, i, j in pairs:
        if v < IOU_MIN:
            break
        if i in used_g or j in used_d:
            continue
        used_g.add(i)
        used_d.add(j)
        out.append((i, j, v))
    return out


def pr(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r


TP = FP = FN = 0
ious, best_ious, dy, sw, sh, offsets, pairs = [], [], [], [], [], [], []
steady = []
for clip in truth["clips"]:
    path = os.path.join(tmp, clip["file"] + ".json")
    if not os.path.exists(path):
        continue
    res = json.load(open(path))["results"]
    faces = res["faces"]
    sampled = {round(t, 4): n for t, n in faces["frames"]}
    dets = {}
    for tr in faces["tracks"]:
        for b in tr["boxes"]:
            dets.setdefault(round(b["time"], 4), []).append([b["x"], b["y"], b["w"], b["h"]])
    # The sample for a truth frame: the nearest, within half the sampling
    # step. It need not be the very frame: with sparse sampling the decoder
    # skips non-reference frames and serves an instant with a frame or two
    # later (src/media/decode.c), and a face moves little in 40-80 ms.
    slack = 0.5 / faces["fps"] + 1e-3
    tp = fp = fn = 0
    for fr in clip["frames"]:
        gts = fr["faces"]
        near = [t for t in sampled if abs(t - fr["time"]) <= slack]
        if not near:
            print(f"  {clip['file']} t={fr['time']}: not sampled by vidan; its faces count as missed")
            fn += len(gts)
            continue
        t = min(near, key=lambda x: abs(x - fr["time"]))
        offsets.append(abs(t - fr["time"]))
        ds = dets.get(t, [])
        m = match(gts, ds)
        # A detection counted in frames[] but in no track cannot match a box.
        unboxed = max(0, sampled[t] - len(ds))
        tp += len(m)
        fp += len(ds) - len(m) + unboxed
        fn += len(gts) - len(m)
        for i, j, v in m:
            g, d = gts[i], ds[j]
            ious.append(v)
            dy.append(((d[1] + d[3] / 2) - (g[1] + g[3] / 2)) / g[3])
            sw.append(d[2] / g[2])
            sh.append(d[3] / g[3])
            pairs.append((g, d))
        for g in gts:
            best_ious.append(max((iou(g, d) for d in ds), default=0.0))
        if len(m) < len(gts) or len(ds) > len(m):
            print(f"  {clip['file']} t={t}: truth {len(gts)} face(s), {len(ds)} detection(s), {len(m)} matched"
                  + "".join(f"; det {[round(v, 3) for v in d]}" for d in ds))
    p, r = pr(tp, fp, fn)
    print(f"{clip['file']}: precision {p:.3f} recall {r:.3f} (tp {tp}, fp {fp}, fn {fn}; "
          f"{len(clip['frames'])} frames; analyze {times.get(clip['file'], 0):.1f} s)")
    if p < 0.8 or r < 0.8:
        fails.append(f"{clip['file']}: precision {p:.3f} / recall {r:.3f} below 0.8")
    TP, FP, FN = TP + tp, FP + fp, FN + fn
    if clip.get("steady_face") and faces["tracks"]:
        # One face on screen throughout: its longest track, and how the
        # emotion read on it holds over time.
        tr = max(faces["tracks"], key=lambda x: x["frames"])
        et = next((e for e in res["emotions"]["tracks"] if e["track"] == tr["id"]), None)
        raw = [b.get("emotion") for b in tr["boxes"]]
        series = et["series"]["dominant"] if et else []
        steady.append({
            "file": clip["file"], "expected": clip.get("expression"),
            "coverage": tr["frames"] / max(1, sum(1 for n in sampled.values() if n > 0)),
            "dominant": tr.get("emotion"), "raw": tr.get("emotion_consistency"),
            "smoothed": (sum(x == et["dominant"] for x in series) / len(series)) if series else None,
            "flips": sum(a != b for a, b in zip(raw, raw[1:])), "samples": len(raw),
        })

P, R = pr(TP, FP, FN)
if offsets:
    print(f"sample vs truth frame: {sum(o > 1e-3 for o in offsets)} of {len(offsets)} truth frames scored on a "
          f"neighbouring frame, at most {max(offsets) * 1000:.0f} ms away")
print(f"overall: precision {P:.3f} recall {R:.3f} (tp {TP}, fp {FP}, fn {FN}) at IoU >= {IOU_MIN}")
if P < 0.9:
    fails.append(f"overall precision {P:.3f} below 0.9")
if R < 0.9:
    fails.append(f"overall recall {R:.3f} below 0.9")
if ious:
    q = statistics.quantiles(ious, n=10) if len(ious) > 1 else ious
    print(f"IoU of the {len(ious)} matches: mean {statistics.mean(ious):.3f}, median {statistics.median(ious):.3f}, "
          f"min {min(ious):.3f}, 10th percentile {q[0]:.3f}; best IoU per truth face: min {min(best_ious):.3f}")
    print(f"BlazeFace box vs by-eye box: centre lower by {statistics.mean(dy):.2f} of the box height, "
          f"width x{statistics.mean(sw):.2f}, height x{statistics.mean(sh):.2f} (mean over the matches)")
    # How much of the gap is the convention: move and scale each truth box
    # by the mean offset and scale above (fitted on these same pairs, so a
    # little optimistic) and measure again.
    mdy, msw, msh = statistics.mean(dy), statistics.mean(sw), statistics.mean(sh)
    adj = []
    for g, d in pairs:
        cx, cy = g[0] + g[2] / 2, g[1] + g[3] / 2 + mdy * g[3]
        w, h = g[2] * msw, g[3] * msh
        adj.append(iou([cx - w / 2, cy - h / 2, w, h], d))
    print(f"IoU with the truth boxes moved and scaled that way: mean {statistics.mean(adj):.3f}, min {min(adj):.3f}")
    if statistics.mean(ious) < 0.6:
        fails.append(f"mean IoU {statistics.mean(ious):.3f} below 0.6: boxes moved or rescaled")

if steady:
    print("emotion on the one face of each steady clip (raw: share of samples whose top class is the track's "
          "dominant; smoothed: the same for the emotions pass's 1 s windowed series):")
    for s in steady:
        print(f"  {s['file']}: {s['dominant']} (by eye {s['expected']}), raw {s['raw']:.2f}, smoothed "
              f"{s['smoothed']:.2f}, {s['flips']} flips of the raw top class in {s['samples']} samples, "
              f"track covers {s['coverage']:.2f} of the samples with a face")
        if s["coverage"] < 0.9:
            fails.append(f"{s['file']}: the one face is split, its longest track covers {s['coverage']:.2f}")
        # The track's dominant emotion should hold for most of its time.
        if s["smoothed"] is None or s["smoothed"] < 0.5:
            fails.append(f"{s['file']}: smoothed emotion consistency {s['smoothed']} below 0.5")
        # A face that clearly shows a non-neutral expression must be read as it.
        if s["expected"] not in (None, "neutral") and s["dominant"] != s["expected"]:
            fails.append(f"{s['file']}: dominant emotion {s['dominant']}, by eye {s['expected']}")
    mean_raw = statistics.mean(s["raw"] for s in steady)
    agree = sum(s["dominant"] == s["expected"] for s in steady)
    print(f"  mean raw consistency {mean_raw:.2f}; dominant emotion agrees with the by-eye expression on "
          f"{agree} of {len(steady)}")
    if mean_raw < 0.6:
        fails.append(f"mean raw emotion consistency {mean_raw:.2f} below 0.6")
print(f"analyze time, all clips: {sum(times.values()):.1f} s")
for f in fails:
    print("FAIL:", f)
print("PASS" if not fails else f"{len(fails)} failure(s)")
sys.exit(1 if fails else 0)
PY
