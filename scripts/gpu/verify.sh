#!/usr/bin/env bash
# GPU verification from a trimmed self-contained publish (no .NET on the GPU machine), in one run:
#   1. the publish size (it must fit the device tool's 64 MiB carry with the rest of the tree);
#   2. parity: every case of parity-cases.tsv, 100 steps, weights_sha256 against cpu-hashes.tsv;
#   3. speed against PyTorch CUDA (Benchmarks/peers/torch_toy.py --device cuda) on S, M, L and XL.
# usage, on the GPU machine from the repository root, after
#   dotnet publish Samples/Train -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -o publish/train
#     scripts/gpu/verify.sh [--backend cuda|opencl] [--device N] [--cases S,M,L,XL] [--skip-parity] [--skip-speed]
# and on the development machine, to record the CPU hashes the parity step compares with:
#     scripts/gpu/verify.sh --record "dotnet run -c Release --project Samples/Train --"
# TRAIN=path overrides the program (default publish/train/train); PYTHON the interpreter with torch.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
train="${TRAIN:-$root/publish/train/train}"
backend=cuda device=0 cases="S,M,L,XL" parity=1 speed=1 record=""
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --skip-parity) parity=0; shift ;;
    --skip-speed) speed=0; shift ;;
    --record) record="$2"; shift 2 ;;
    *) echo "verify.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
field() { printf '%s' "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
work="${TMPDIR:-/tmp}/toymodels-verify"; mkdir -p "$work"

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

fail=0
if [ -d "$(dirname "$train")" ]; then
  size=$(du -sb "$(dirname "$train")" | cut -f1)
  tree=$(cd "$root" && git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
  echo "publish: $(dirname "$train"): $((size / 1048576)) MiB ($size bytes); tracked tree $((tree / 1048576)) MiB; together $(((size + tree) / 1048576)) of 64 MiB"
fi
[ -x "$train" ] || { echo "verify.sh: no program at $train (publish first, or set TRAIN)" >&2; exit 2; }

if [ $parity = 1 ]; then
  echo "== parity: $backend, device $device, 100 steps per case, against cpu-hashes.tsv"
  while IFS=$'\t' read -r name options; do
    case "$name" in ''|'#'*) continue ;; esac
    # shellcheck disable=SC2086
    json=$("$train" $options --steps 100 --eval-samples 0 --json --quiet --backend "$backend" --device "$device" --out "$work/parity-$name" | tail -n 1)
    hash=$(field "$json" weights_sha256)
    want=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$here/cpu-hashes.tsv")
    if [ -z "$hash" ]; then echo "FAIL  $name: no result ($json)"; fail=1
    elif [ "$hash" = "$want" ]; then echo "ok    $name  $hash  ($(field "$json" steps_per_s) steps/s)"
    else echo "WRONG $name  got $hash  expected ${want:-<unrecorded>}"; fail=1; fi
  done < "$here/parity-cases.tsv"
fi

if [ $speed = 1 ]; then
  python="${PYTHON:-}"
  for p in /usr/bin/python3 python3; do
    [ -z "$python" ] && command -v "$p" >/dev/null && "$p" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null && python="$p"
  done
  if [ -z "$python" ]; then
    echo "== speed: skipped: no python3 with torch and CUDA"
  else
    echo "== speed: engine ($backend) against torch CUDA, steps/s past the warm-up (untied, bias, Adam)"
    printf '%-4s %6s %5s %5s %6s %12s %12s %7s\n' case n m B p "engine st/s" "torch st/s" ratio
    for c in ${cases//,/ }; do
      # The shapes are the engine's table of standard cases (Samples/Train --case); the step counts are this script's.
      case "$c" in
        S) w=300; t=1000 ;;
        M) w=300; t=500 ;;
        L) w=50;  t=200 ;;
        XL) w=5;  t=20 ;;
        *) echo "verify.sh: unknown case '$c'" >&2; exit 2 ;;
      esac
      engine=$("$train" --case "$c" --steps $((w + t)) --warmup-steps $w --backend "$backend" \
        --device "$device" --eval-samples 0 --quiet --json --out "$work/speed-$c" | tail -n 1)
      n=$(field "$engine" n) m=$(field "$engine" m) batch=$(field "$engine" batch) p=$(field "$engine" p)
      tied=""; [ "$(field "$engine" tied)" = true ] && tied="--tied"
      torch=$("$python" "$root/Benchmarks/peers/torch_toy.py" --n $n --m $m --batch $batch --p $p $tied --warmup $w --steps $t --device cuda | tail -n 1)
      e=$(field "$engine" steps_per_s) r=$(field "$torch" steps_per_s)
      printf '%-4s %6s %5s %5s %6s %12s %12s %7s\n' "$c" $n $m $batch $p "$e" "$r" "$(awk -v a="$e" -v b="$r" 'BEGIN { if (b > 0) printf "%.2fx", a / b }')"
    done
  fi
fi
exit $fail
