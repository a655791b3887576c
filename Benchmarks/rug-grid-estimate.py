#!/usr/bin/env python3
"""The rug grid's whole wall time from several `Benchmarks.dll rug` calls (each kept under 10 minutes).

    Benchmarks/rug-grid-estimate.py RUG_OUTPUT_1 RUG_OUTPUT_2 ...

Each file is one call's output; its last line is the JSON the tool prints. The calls' rows (early seconds and
FLOP per step of a width and p, trained alone) are scaled to the whole run by the whole-run factors of the calls'
profiles (a width's p trained through every step), interpolated linearly in m between the widths that have a
whole run of that p (a p with one such width takes its factor everywhere); a measured p with no whole run in any
call takes its factor linearly in log p between the nearest p that have one (constant beyond them). Every grid p
of a width is interpolated linearly in p between its measured ones. Prints per width the estimated seconds of its
runs, then the grid's hours, executed FLOP and their share of the highest FMA peak the calls measured, and the
hours again with each whole run's factor taken over its width's early row (timed minutes later in the call) rather
than over the run's own early steps: on this shared machine the two differ by the machine's drift between them.
"""
import json
import math
import sys


def interpolate(xs, ys, x):
    """ys at x, piecewise linear through (xs, ys) sorted by x, constant beyond the ends."""
    if x <= xs[0]:
        return ys[0]
    for i in range(1, len(xs)):
        if x <= xs[i]:
            return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1])
    return ys[-1]


def estimate(rows, profiles, grid_p, steps, show):
    """The grid's (seconds, seconds from early figures alone, executed FLOP) over the widths of rows."""
    total_s = total_flop = early_s = 0.0
    if show:
        print("    m   est. s of its runs   (early figures alone)   time factor per measured p")
    for m in sorted({r["m"] for r in rows}):
        measured = sorted((r for r in rows if r["m"] == m), key=lambda r: r["p"])
        ps = [r["p"] for r in measured]
        whole_ps = sorted(profiles)

        def factor_at(p):
            """(time factor, FLOP factor) of p at this m: from p's own whole runs, else between its neighbours in log p."""
            if p in profiles:
                whole = sorted(profiles[p])
                ms = [w[0] for w in whole]
                return interpolate(ms, [w[1] for w in whole], m), interpolate(ms, [w[2] for w in whole], m)
            at = [factor_at(q) for q in whole_ps]
            logs = [math.log(q) for q in whole_ps]
            return interpolate(logs, [f[0] for f in at], math.log(p)), interpolate(logs, [f[1] for f in at], math.log(p))

        factors = [factor_at(p) for p in ps]
        per_step = [r["early_s_per_step"] * f[0] for r, f in zip(measured, factors)]
        flop = [r["early_flop_per_step"] * f[1] for r, f in zip(measured, factors)]
        fixed = [r["eval_s"] + r["theory_s"] for r in measured]
        seconds = sum(steps * interpolate(ps, per_step, p) + interpolate(ps, fixed, p) for p in grid_p)
        early = sum(steps * interpolate(ps, [r["early_s_per_step"] for r in measured], p) for p in grid_p)
        total_s += seconds
        early_s += early
        total_flop += sum(steps * interpolate(ps, flop, p) for p in grid_p)
        if show:
            print(f"{m:5d} {seconds:18.0f} {early:22.0f}   " + " ".join(f"{f[0]:.3f}" for f in factors))
    return total_s, early_s, total_flop


def main(paths):
    calls = [json.loads([line for line in open(p) if line.startswith("{")][-1]) for p in paths]
    steps = calls[0]["steps"]
    grid_p = sorted({p for c in calls for p in c["grid_p"]})
    rows = [r for c in calls for r in c["rows"]]
    early_row = {(r["m"], r["p"]): r["early_s_per_step"] for r in rows}
    # p -> [(m, time factor, FLOP factor)]: the whole run's mean step over its own early steps' (same minutes of the
    # machine), and as a cross-check over the early row of its width and p (measured minutes later in a call).
    profiles, against_rows = {}, {}
    for c in calls:
        for pr in c["profile"]:
            profiles.setdefault(pr["p"], []).append((pr["m"], pr["factor"], pr["flop_factor"]))
            row = early_row.get((pr["m"], pr["p"]))
            factor = pr["seconds"] / steps / row if row else pr["factor"]
            against_rows.setdefault(pr["p"], []).append((pr["m"], factor, pr["flop_factor"]))
    total_s, early_s, total_flop = estimate(rows, profiles, grid_p, steps, True)
    peak = max(c["fma_peak_gflops"] for c in calls)
    rate = total_flop / total_s / 1e9
    print(f"grid: {total_s / 3600:.2f} h ({early_s / 3600:.2f} h from the early figures alone); executed {total_flop:.3e} FLOP, "
          f"{rate:.1f} GFLOP/s = {rate / peak:.1%} of the FMA peak {peak:.1f} GFLOP/s; "
          f"at that peak the executed FLOP take {total_flop / peak / 1e9 / 3600:.2f} h")
    cross_s, _, _ = estimate(rows, against_rows, grid_p, steps, False)
    print(f"cross-check, each whole run's factor over its width's early row instead of its own early steps: {cross_s / 3600:.2f} h")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
