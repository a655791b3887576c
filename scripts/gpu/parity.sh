#!/usr/bin/env bash
# Bitwise parity across machines: trains every case of parity-cases.tsv for 100 steps with the given
# backend and compares weights_sha256 with the hashes recorded on the development machine (cpu-hashes.tsv).
#   record (development machine):  scripts/gpu/parity.sh --record TRAIN simd
#   check (GPU machine):           scripts/gpu/parity.sh TRAIN cuda [device]
# TRAIN is the Samples/Train program: a published binary (publish/train/train) or "dotnet run -c Release --project Samples/Train --".
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
record=0
if [ "${1:-}" = "--record" ]; then record=1; shift; fi
train="${1:?usage: parity.sh [--record] TRAIN BACKEND [DEVICE]}"
backend="${2:?backend: simd, reference, cuda or opencl}"
device="${3:-0}"
expected="$here/cpu-hashes.tsv"
[ $record = 1 ] && : > "$expected.new"
fail=0
while IFS=$'\t' read -r name options; do
  case "$name" in ''|'#'*) continue ;; esac
  # shellcheck disable=SC2086
  json=$($train $options --steps 100 --eval-samples 0 --json --quiet --backend "$backend" --device "$device" --out "${TMPDIR:-/tmp}/parity-$name" | tail -n 1)
  hash=$(printf '%s' "$json" | sed -n 's/.*"weights_sha256":"\([0-9a-f]*\)".*/\1/p')
  speed=$(printf '%s' "$json" | sed -n 's/.*"steps_per_s":\([0-9.]*\).*/\1/p')
  if [ -z "$hash" ]; then echo "FAIL  $name: no result from $train ($json)"; fail=1; continue; fi
  if [ $record = 1 ]; then
    printf '%s\t%s\n' "$name" "$hash" >> "$expected.new"
    echo "recorded $name $hash ($speed steps/s)"
  else
    want=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$expected")
    if [ "$hash" = "$want" ]; then echo "ok    $name  $hash  ($speed steps/s)"
    else echo "WRONG $name  got $hash  expected ${want:-<unrecorded>}"; fail=1; fi
  fi
done < "$here/parity-cases.tsv"
[ $record = 1 ] && mv "$expected.new" "$expected"
exit $fail
