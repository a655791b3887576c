#!/usr/bin/env bash
# The engine's dense decoder product alone against OpenBLAS sgemm (and torch.matmul) of the same shape, in one run:
# z = W_out h of case M, a 4096 x 512 by 512 x 1024 float product, all cores on both sides, median of --reps.
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
field() { "$python" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
n=$(field "$engine" n) m=$(field "$engine" m) batch=$(field "$engine" batch)
peer=$("$python" "$root/Benchmarks/peers/sgemm.py" --n "$n" --m "$m" --batch "$batch" --reps "$reps" --threads "$threads" | tail -n 1)

e=$(field "$engine" median_gflops) s=$(field "$peer" sgemm_median_gflops) t=$(field "$peer" torch_median_gflops)
echo "decoder product of case $case: ${n}x${m} by ${m}x${batch} floats, $(awk -v n="$n" -v m="$m" -v b="$batch" 'BEGIN { printf "%.3f", 2 * n * m * b / 1e9 }') GFLOP, median of $reps"
echo "engine: SimdBackend.Decode on $(field "$engine" device) (z = W_out h + b); $(nproc) cores"
echo "peer:   $(field "$peer" openblas_config), $(field "$peer" openblas_threads) threads; torch $(field "$peer" torch) matmul"
printf '%-22s %10s %10s %10s %10s\n' "" "median ms" "GFLOP/s" "best ms" "GFLOP/s"
printf '%-22s %10.2f %10.1f %10.2f %10.1f\n' "engine decoder" \
  "$(field "$engine" median_s | awk '{ print $1 * 1000 }')" "$e" "$(field "$engine" best_s | awk '{ print $1 * 1000 }')" "$(field "$engine" best_gflops)"
printf '%-22s %10.2f %10.1f %10.2f %10.1f\n' "OpenBLAS cblas_sgemm" \
  "$(field "$peer" sgemm_median_s | awk '{ print $1 * 1000 }')" "$s" "$(field "$peer" sgemm_best_s | awk '{ print $1 * 1000 }')" "$(field "$peer" sgemm_best_gflops)"
printf '%-22s %10.2f %10.1f %10.2f %10.1f\n' "torch.matmul" \
  "$(field "$peer" torch_median_s | awk '{ print $1 * 1000 }')" "$t" "$(field "$peer" torch_best_s | awk '{ print $1 * 1000 }')" "$(field "$peer" torch_best_gflops)"
awk -v e="$e" -v s="$s" -v t="$t" 'BEGIN { printf "engine / sgemm %.1f%% (target >= 70%%), engine / torch.matmul %.1f%%\n", 100 * e / s, 100 * e / t }'
