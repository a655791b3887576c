#!/usr/bin/env bash
# GPU verification from trimmed self-contained publishes (no .NET on the GPU machine), in one run:
#   1. the publish sizes (with the tracked tree they must fit the device tool's 64 MiB carry);
#   2. parity: every case of parity-cases.tsv, 100 steps, weights_sha256 against cpu-hashes.tsv;
#   3. speed against PyTorch (Benchmarks/peers/torch_toy.py) on S, M, L and XL, steps/s past the warm-up;
#   4. the decoder product alone against torch.matmul in FP32 without TF32 (measure decoder, Benchmarks/peers/sgemm.py);
#   5. the hardware command (measure hardware) on the backend.
# On the development machine, publish both programs into the git-ignored publish/ (and print their sizes):
#     scripts/gpu/verify.sh --publish
# then on the GPU machine, from the repository root:
#     scripts/gpu/verify.sh [--backend cuda|opencl|ilgpu-cpu] [--device N] [--cases S,M,L,XL] [--parity REGEX]
#                           [--torch-device cuda|cpu] [--skip-parity] [--skip-speed] [--skip-decoder] [--skip-hardware]
#     scripts/gpu/verify.sh --tiny --backend opencl|ilgpu-cpu     the plumbing on a machine without a GPU: the ragged
#         parity cases, speed and decoder at the ragged shape, hardware --quick, torch on the CPU
# and on the development machine, to record the CPU hashes the parity step compares with:
#     scripts/gpu/verify.sh --record "dotnet run -c Release --project Samples/Train --"
# TRAIN and MEASURE override the programs (default publish/train/train, publish/measure/measure); PYTHON the
# interpreter with torch. Exit code 0 when every step that ran passed.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
train="${TRAIN:-$root/publish/train/train}"
measure="${MEASURE:-$root/publish/measure/measure}"
backend=cuda device=0 cases="S,M,L,XL" parity_names="" torch_device=cuda quick=""
parity=1 speed=1 decoder=1 hardware=1 record="" publish=0
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --parity) parity_names="$2"; shift 2 ;;
    --torch-device) torch_device="$2"; shift 2 ;;
    --tiny) cases=ragged parity_names='^ragged' torch_device=cpu quick=--quick; shift ;;
    --skip-parity) parity=0; shift ;;
    --skip-speed) speed=0; shift ;;
    --skip-decoder) decoder=0; shift ;;
    --skip-hardware) hardware=0; shift ;;
    --record) record="$2"; shift 2 ;;
    --publish) publish=1; shift ;;
    *) echo "verify.sh: unknown option '$1' (see the head of $0)" >&2; exit 2 ;;
  esac
done
field() { printf '%s' "$1" | sed -n "s/.*\"$2\": *\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else printf "-" }'; }
work="${TMPDIR:-/tmp}/toymodels-verify"; mkdir -p "$work"

sizes() {
  local total=0 size tree
  for program in "$train" "$measure"; do
    [ -d "$(dirname "$program")" ] || continue
    size=$(du -sb "$(dirname "$program")" | cut -f1); total=$((total + size))
    echo "publish: $(dirname "$program"): $size bytes ($((size / 1048576)) MiB)"
  done
  tree=$(cd "$root" && git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
  echo "publish: together $total bytes ($((total / 1048576)) MiB); with the tracked tree ($tree bytes) $(((total + tree) / 1048576)) of 64 MiB"
}

if [ $publish = 1 ]; then
  for project in Samples/Train Measure; do
    out="$root/publish/$(basename "$project" | tr 'A-Z' 'a-z')"
    dotnet publish "$root/$project" -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -o "$out" -v q -nologo || exit 1
  done
  sizes
  exit 0
fi

if [ -n "$record" ]; then
  : > "$here/cpu-hashes.tsv.new"
  while IFS=$'\t' read -r name options; do
    case "$name" in ''|'#'*) continue ;; esac
    # shellcheck disable=SC2086
    json=$($record $options --steps 100 --eval-samples 0 --json --quiet --backend simd --out "$work/record-$name" | tail -n 1)
    printf '%s\t%s\n' "$name" "$(field "$json" weights_sha256)" >> "$here/cpu-hashes.tsv.new"
    echo "recorded $name $(field "$json" weights_sha256)"
  done < "$here/parity-cases.tsv"
  mv "$here/cpu-hashes.tsv.new" "$here/cpu-hashes.tsv"
  exit 0
fi

sizes
for program in "$train" "$measure"; do
  [ -x "$program" ] || { echo "verify.sh: no program at $program (scripts/gpu/verify.sh --publish first, or set TRAIN and MEASURE)" >&2; exit 2; }
done
failed=()

if [ $parity = 1 ]; then
  echo "== parity: $backend, device $device, 100 steps per case, weights_sha256 against cpu-hashes.tsv"
  while IFS=$'\t' read -r name options; do
    case "$name" in ''|'#'*) continue ;; esac
    [ -z "$parity_names" ] || [[ "$name" =~ $parity_names ]] || continue
    # shellcheck disable=SC2086
    json=$("$train" $options --steps 100 --eval-samples 0 --json --quiet --backend "$backend" --device "$device" --out "$work/parity-$name" | tail -n 1)
    hash=$(field "$json" weights_sha256)
    want=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$here/cpu-hashes.tsv")
    if [ -z "$hash" ]; then echo "FAIL  $name: no result ($json)"; failed+=("parity $name")
    elif [ "$hash" = "$want" ]; then echo "ok    $name  $hash  ($(field "$json" steps_per_s) steps/s)"
    else echo "WRONG $name  got $hash  expected ${want:-<unrecorded>}"; failed+=("parity $name"); fi
  done < "$here/parity-cases.tsv"
fi

# Each case's step counts; its shape is the engine's (StandardCases: train --case NAME, measure decoder --case NAME),
# read back from the JSON each prints, and handed to the peer.
counts() {
  case "$1" in
    S) warm=300; timed=1000; inner=100 ;;
    M) warm=300; timed=500;  inner=20 ;;
    L) warm=50;  timed=200;  inner=20 ;;
    XL) warm=5;  timed=20;   inner=3 ;;
    ragged) warm=2; timed=10; inner=5 ;;
    *) echo "verify.sh: unknown case '$1' (accepted: S, M, L, XL, ragged)" >&2; exit 2 ;;
  esac
}

python=""
if [ $speed = 1 ] || [ $decoder = 1 ]; then
  probe="import torch; assert '$torch_device' == 'cpu' or torch.cuda.is_available()"
  for p in ${PYTHON:-} /usr/bin/python3 python3; do
    [ -z "$python" ] && command -v "$p" >/dev/null && "$p" -c "$probe" 2>/dev/null && python="$p"
  done
  [ -n "$python" ] || echo "== speed and decoder: skipped: no python3 with torch$([ "$torch_device" = cuda ] && echo " and CUDA")"
fi

if [ $speed = 1 ] && [ -n "$python" ]; then
  echo "== speed: engine ($backend) against torch ($torch_device), steps/s past the warm-up (bias, Adam; untied but XL)"
  printf '%-6s %6s %5s %5s %6s %12s %12s %7s\n' case n m B p "engine st/s" "torch st/s" ratio
  for c in ${cases//,/ }; do
    counts "$c"
    engine=$("$train" --case "$c" --steps $((warm + timed)) --warmup-steps $warm --backend "$backend" \
      --device "$device" --eval-samples 0 --quiet --json --out "$work/speed-$c" | tail -n 1)
    n=$(field "$engine" n) m=$(field "$engine" m) batch=$(field "$engine" batch) p=$(field "$engine" p)
    tied=$([ "$(field "$engine" tied)" = true ] && echo --tied)
    torch=""
    [ -n "$n" ] && torch=$("$python" "$root/Benchmarks/peers/torch_toy.py" --n $n --m $m --batch $batch --p $p $tied --warmup $warm \
      --steps $timed --device "$torch_device" | tail -n 1)
    e=$(field "$engine" steps_per_s) r=$(field "$torch" steps_per_s)
    [ -n "$e" ] && [ -n "$r" ] || failed+=("speed $c")
    printf '%-6s %6s %5s %5s %6s %12s %12s %7s\n' "$c" "${n:--}" "${m:--}" "${batch:--}" "${p:--}" "${e:--}" "${r:--}" "$(ratio "$e" "$r")"
  done
fi

if [ $decoder = 1 ] && [ -n "$python" ]; then
  echo "== decoder: z = W_out h + b alone ($backend) against torch.matmul ($torch_device, FP32, no TF32), medians of 15 repetitions"
  printf '%-6s %6s %5s %5s %6s %14s %14s %7s\n' case n m B inner "engine GFLOP/s" "torch GFLOP/s" ratio
  for c in ${cases//,/ }; do
    counts "$c"
    engine=$("$measure" decoder --case "$c" --backend "$backend" --device "$device" --reps 15 --inner $inner | tail -n 1)
    n=$(field "$engine" n) m=$(field "$engine" m) batch=$(field "$engine" batch)
    torch=""
    [ -n "$n" ] && torch=$("$python" "$root/Benchmarks/peers/sgemm.py" --n $n --m $m --batch $batch --reps 15 --inner $inner \
      --device "$torch_device" | tail -n 1)
    e=$(field "$engine" engine_median_gflops) r=$(field "$torch" torch_median_gflops)
    [ -n "$e" ] && [ -n "$r" ] || failed+=("decoder $c")
    printf '%-6s %6s %5s %5s %6s %14s %14s %7s\n' "$c" "${n:--}" "${m:--}" "${batch:--}" "$inner" "${e:--}" "${r:--}" "$(ratio "$e" "$r")"
  done
fi

if [ $hardware = 1 ]; then
  case "$backend" in
    cuda|opencl)
      echo "== hardware: measure hardware --backends $backend $quick"
      "$measure" hardware --backends "$backend" $quick --json-out "$work/hardware.json" || failed+=("hardware")
      ;;
    *) echo "== hardware: skipped: it measures simd, opencl and cuda, not $backend" ;;
  esac
fi

if [ ${#failed[@]} -gt 0 ]; then echo "verify.sh: FAILED: ${failed[*]}"; exit 1; fi
echo "verify.sh: every step that ran passed"
