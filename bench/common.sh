# Shared helpers for the bench scripts (sourced, not run).
# VIDAN     the vidan binary (default: <repo>/build/vidan, built by `make build`)
# BENCH_DIR where generated media is cached (default: <repo>/build/bench)
# RUNS      timed runs per command; the best one counts (default: 3)
set -uo pipefail

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VIDAN=${VIDAN:-$bench_root/build/vidan}
BENCH_DIR=${BENCH_DIR:-$bench_root/build/bench}
RUNS=${RUNS:-3}
mkdir -p "$BENCH_DIR"

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 2; }
  done
}
need ffmpeg ffprobe
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
[[ -x "$VIDAN" ]] || { echo "bench: no vidan binary at $VIDAN (run make build, or set VIDAN)" >&2; exit 2; }

# measure OUTVAR CMD...: runs CMD once, stdout to $BENCH_DIR/last.out; sets OUTVAR to
# "wall_s cpu_s maxrss_kb". Fails the bench when CMD fails.
measure() {
  local __var=$1
  shift
  local tf
  tf=$(mktemp)
  if ! /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$BENCH_DIR/last.out" 2>"$tf.err"; then
    echo "bench: command failed: $*" >&2
    tail -n 5 "$tf.err" >&2
    rm -f "$tf" "$tf.err"
    exit 1
  fi
  # /usr/bin/time appends its line after anything the command printed there.
  local e u s m
  read -r e u s m < <(tail -n 1 "$tf")
  rm -f "$tf" "$tf.err"
  printf -v "$__var" '%s %s %s' "$e" "$(awk -v u="$u" -v s="$s" 'BEGIN{printf "%.2f", u + s}')" "$m"
}

# best OUTVAR N CMD...: measure N times, keep the run with the least wall time.
best() {
  local __var=$1 n=$2
  shift 2
  local i r bestr="" bw=""
  for ((i = 0; i < n; i++)); do
    measure r "$@"
    local w=${r%% *}
    if [[ -z "$bw" ]] || awk -v a="$w" -v b="$bw" 'BEGIN{exit !(a < b)}'; then
      bw=$w
      bestr=$r
    fi
  done
  printf -v "$__var" '%s' "$bestr"
}

field() { echo "$1" | awk -v i="$2" '{print $i}'; }

# ratio A B: A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b > 0 ? a / b : 0)}'; }
