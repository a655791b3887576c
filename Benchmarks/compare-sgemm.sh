#!/usr/bin/env bash
# The engine's dense decoder product alone against OpenBLAS sgemm (and torch.matmul) of the same shape, in one run:
# z = W_out h of case M, a 4096 x 512 by 512 x 1024 float product, all cores on both sides, median of --reps;
# engine and sgemm alternate in one process (so both see the same machine), torch.matmul runs after.
# The target: the engine at least 70% of sgemm's GFLOP/s.
#
#   Benchmarks/compare-sgemm.sh [--case M|S|L|ragged] [--reps 15] [--threads T (default: all cores)] [--no-build]
# On a shared machine wrap it in the CPU lock: flock /tmp/toymodels-cpu.lock Benchmarks/compare-sgemm.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python=/usr/bin/python3
case=M reps=15 threads="$(nproc)" build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --case) case="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "compare-sgemm.sh: unknown option '$1' (accepted: --case, --reps, --threads, --no-build)" >&2; exit 2 ;;
  esac
done
for value in "$reps" "$threads"; do
  case "$value" in ''|*[!0-9]*|0) echo "compare-sgemm.sh: '$value' is not a whole number >= 1 (--reps, --threads)" >&2; exit 2 ;; esac
done
if [ $build = 1 ]; then dotnet build -c Release "$root/Benchmarks" -v q -nologo >&2; fi
bench="$root/Benchmarks/bin/Release/net10.0/Benchmarks.dll"
export OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"

engine=$(dotnet "$bench" decoder --case "$case" --reps "$reps" --threads "$threads" | tail -n 1)
field() { "$python" -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], "-"))' "$1" "$2"; }
n=$(field "$engine" n) m=$(field "$engine" m) batch=$(field "$engine" batch)
[ "$(field "$engine" sgemm_median_gflops)" != "-" ] || { echo "compare-sgemm.sh: the engine process found no OpenBLAS (libopenblas.so.0)" >&2; exit 1; }
peer=$("$python" "$root/Benchmarks/peers/sgemm.py" --n "$n" --m "$m" --batch "$batch" --reps "$reps" --threads "$threads" | tail -n 1)

ms() { awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'; }
row() { printf '%-34s %10s %10s %10s %10s\n' "$1" "$(ms "$(field "$2" "$3_median_s")")" "$(field "$2" "$3_median_gflops")" "$(ms "$(field "$2" "$3_best_s")")" "$(field "$2" "$3_best_gflops")"; }
echo "decoder product of case $case: ${n}x${m} by ${m}x${batch} floats, $(awk -v n="$n" -v m="$m" -v b="$batch" 'BEGIN { printf "%.3f", 2 * n * m * b / 1e9 }') GFLOP, $reps repetitions; $(nproc) cores"
echo "engine: SimdBackend.Decode (z = W_out h + b) on $(field "$engine" device), alternating with sgemm in the same process"
echo "BLAS:   $(field "$engine" openblas), $threads threads; torch $(field "$peer" torch) in a second process"
printf '%-34s %10s %10s %10s %10s\n' "" "median ms" "GFLOP/s" "best ms" "GFLOP/s"
row "engine decoder" "$engine" engine
row "OpenBLAS sgemm (same process)" "$engine" sgemm
row "OpenBLAS sgemm (python, ctypes)" "$peer" sgemm
row "torch.matmul" "$peer" torch
awk -v e="$(field "$engine" engine_median_gflops)" -v s="$(field "$engine" sgemm_median_gflops)" -v t="$(field "$peer" torch_median_gflops)" \
  'BEGIN { printf "engine / sgemm (medians, same process) %.1f%% (target >= 70%%); engine / torch.matmul %.1f%%\n", 100 * e / s, 100 * e / t }'
