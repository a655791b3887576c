#!/usr/bin/env bash
# Training speed against PyTorch, both in one run: Samples/Train (Release) and Benchmarks/peers/torch_toy.py
# train the same untied model with Adam on the issue's cases, each on all cores, each with the same warm-up
# (trained, not timed) before the timed steps. Prints steps/s of both and the ratio engine / torch.
#
#   Benchmarks/compare-pytorch.sh                    # cases S M L with their default step counts
#   Benchmarks/compare-pytorch.sh --cases M          # one case
#   Benchmarks/compare-pytorch.sh --cases S,M --warmup 50 --steps 50   # the same counts for every case chosen
#   Benchmarks/compare-pytorch.sh --cases M --rounds 3  # engine and torch alternately 3 times; medians
#   options: --backend NAME (default simd) --threads T (default: all cores) --rounds R (default 1) --no-build
#
# Cases (shapes from the engine's table of standard cases, Samples/Train --case; default warm-up + timed steps):
#   S  300 + 300
#   M  300 + 100   (the target: engine >= 3x torch, past the first few hundred steps)
#   L   20 + 20
# On a shared machine wrap it in the CPU lock: flock /tmp/toymodels-cpu.lock Benchmarks/compare-pytorch.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python=/usr/bin/python3
cases="S,M,L" warmup="" steps="" backend=simd threads="$(nproc)" build=1 rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) cases="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --backend) backend="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "compare-pytorch.sh: unknown option '$1' (accepted: --cases, --warmup, --steps, --backend, --threads, --rounds, --no-build)" >&2; exit 2 ;;
  esac
done
for value in "$threads" "$rounds" ${warmup:+"$warmup"} ${steps:+"$steps"}; do
  case "$value" in ''|*[!0-9]*) echo "compare-pytorch.sh: '$value' is not a whole number (--threads, --rounds, --warmup, --steps)" >&2; exit 2 ;; esac
done
[ "$rounds" -ge 1 ] || { echo "compare-pytorch.sh: --rounds must be >= 1" >&2; exit 2; }
[ "$threads" -ge 1 ] || { echo "compare-pytorch.sh: --threads must be >= 1" >&2; exit 2; }
[ -z "$steps" ] || [ "$steps" -ge 1 ] || { echo "compare-pytorch.sh: --steps must be >= 1" >&2; exit 2; }

if [ $build = 1 ]; then dotnet build -c Release "$root/Samples/Train" -v q -nologo >&2; fi
train="$root/Samples/Train/bin/Release/net10.0/train.dll"
[ -f "$train" ] || { echo "compare-pytorch.sh: $train is missing; build Samples/Train in Release" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# OpenBLAS (torch's BLAS here) and OpenMP follow these; torch_toy.py also calls torch.set_num_threads.
export OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
spreads=()
field() { "$python" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

rows=()
torch_line=""
device=""
IFS=',' read -r -a chosen <<< "$cases"
for case in "${chosen[@]}"; do
  case "$case" in
    S) w=300; t=300 ;;
    M) w=300; t=100 ;;
    L) w=20;  t=20 ;;
    *) echo "compare-pytorch.sh: unknown case '$case' (accepted: S, M, L)" >&2; exit 2 ;;
  esac
  w="${warmup:-$w}" t="${steps:-$t}"
  echo "case $case: $w warm-up + $t timed steps" >&2
  # Engine and torch alternate, so that a change in the machine's load reaches both sides alike; with R rounds
  # each side's figure is the median of its R runs (and the spread is printed).
  es=() rs=()
  for ((round = 1; round <= rounds; round++)); do
    engine=$(dotnet "$train" --case "$case" --steps $((w + t)) --warmup-steps "$w" \
      --backend "$backend" --threads "$threads" --eval-samples 0 --quiet --json --out "$work/train-$case" | tail -n 1)
    # The engine's shape of the case, for the peer.
    n=$(field "$engine" n) m=$(field "$engine" m) batch=$(field "$engine" batch) p=$(field "$engine" p)
    torch=$("$python" "$root/Benchmarks/peers/torch_toy.py" --n $n --m $m --batch $batch --p $p \
      --warmup "$w" --steps "$t" --threads "$threads" | tail -n 1)
    es+=("$(field "$engine" steps_per_s)") rs+=("$(field "$torch" steps_per_s)")
    [ "$rounds" -gt 1 ] && echo "  round $round: engine ${es[-1]} steps/s, torch ${rs[-1]} steps/s" >&2
  done
  e=$(median "${es[@]}") r=$(median "${rs[@]}")
  [ "$rounds" -gt 1 ] && spreads+=("$case: engine $(printf '%s ' "${es[@]}"); torch $(printf '%s ' "${rs[@]}")")
  device=$(field "$engine" device)
  torch_line="torch $(field "$torch" torch), $(field "$torch" threads) threads (torch.get_num_threads), OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS; BLAS: $(field "$torch" blas)"
  rows+=("$(printf '%-4s %6s %5s %5s %6s %7s %6s %12s %12s %8s %11s %11s' "$case" $n $m $batch $p "$w" "$t" "$e" "$r" \
    "$(awk -v a="$e" -v b="$r" 'BEGIN { printf "%.2fx", a / b }')" \
    "$(printf '%.5f' "$(field "$engine" final_loss)")" "$(printf '%.5f' "$(field "$torch" loss)")")")
done

echo
echo "engine: Samples/Train --backend $backend on $device ($(nproc) cores)"
echo "$torch_line"
if [ "$rounds" -gt 1 ]; then
  echo "steps/s past the warm-up, median of $rounds alternating runs per side; ratio = engine / torch; loss = the last run's last batch"
else
  echo "steps/s past the warm-up; ratio = engine / torch; loss = the last batch's"
fi
printf '%-4s %6s %5s %5s %6s %7s %6s %12s %12s %8s %11s %11s\n' case n m B p warmup timed "engine st/s" "torch st/s" ratio "engine loss" "torch loss"
printf '%s\n' "${rows[@]}"
if [ ${#spreads[@]} -gt 0 ]; then echo "runs (steps/s):"; printf '  %s\n' "${spreads[@]}"; fi
