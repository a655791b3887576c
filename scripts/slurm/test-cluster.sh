#!/usr/bin/env bash
# A one-node Slurm cluster on this machine runs the sweep as a job array, resumes it and merges it:
#   scripts/slurm/test-cluster.sh        (as root; installs slurm-wlm and munge when they are missing)
# Checks: the merged results.csv equals an unsharded run of the same grid run by run (weights_sha256
# included) and report.html is written; a re-submission trains nothing, also as an array of another
# geometry (--array=0-4:2), as chosen shards (--array=0,2 with --shard-count 3) or as a sub-range
# (--array=1-2); a list without --shard-count is refused; in --array=3-5 (SLURM_ARRAY_TASK_MIN 3) a task
# cancelled mid-run and a task requeued mid-run end, after a re-submission, with the grid complete and no
# run twice. Submits exactly as README's "On Slurm" section does (scripts/slurm/sweep.sbatch; see submit
# below). Stops every daemon it started, by PID, and removes its temporary folder; on failure prints the
# tails of the daemons' and jobs' logs and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS
say() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }
fail() { say "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root: the cluster's daemons (munged, slurmctld, slurmd) run as root"
for tool in munged slurmctld slurmd sbatch; do
  if ! command -v "$tool" >/dev/null; then
    say "installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
    break
  fi
done

say "building Samples/Sweep (Release)"
dotnet build -c Release -nologo -v q Samples/Sweep/Sweep.csproj >/dev/null || { dotnet build -c Release -nologo -v q Samples/Sweep/Sweep.csproj; fail "build"; }
sweep=Samples/Sweep/bin/Release/net10.0/sweep.dll

state=$(mktemp -d /tmp/toymodels-slurm.XXXXXX)
chmod 711 "$state" # munged warns about a socket in a folder that other users cannot reach
daemons=() jobs=()
stop() {
  local rc=$?
  set +e
  if [ ${#jobs[@]} -gt 0 ] && [ -n "${SLURM_CONF:-}" ]; then # let slurmd end the jobs' processes first
    scancel "${jobs[@]}" 2>/dev/null
    for _ in $(seq 40); do squeue -h -t R,CG -j "$(IFS=,; echo "${jobs[*]}")" 2>/dev/null | grep -q . || break; sleep 0.25; done
  fi
  for ((k = ${#daemons[@]} - 1; k >= 0; k--)); do # slurmd, slurmctld, then munged
    kill "${daemons[k]}" 2>/dev/null
    for _ in $(seq 50); do kill -0 "${daemons[k]}" 2>/dev/null || break; sleep 0.1; done
    kill -9 "${daemons[k]}" 2>/dev/null
    wait "${daemons[k]}" 2>/dev/null
  done
  if [ $rc -ne 0 ]; then
    for f in "$state"/*.log "$state"/runs/*/slurm-*.out; do
      [ -f "$f" ] && { echo "--- tail $f"; tail -n 25 "$f"; }
    done
  fi
  rm -rf "$state"
  say "$([ $rc -eq 0 ] && echo passed || echo "failed (exit $rc)"); daemons stopped, $state removed"
  exit $rc
}
trap stop EXIT
trap 'exit 130' INT TERM

# Two free ports, so that a Slurm already installed on the machine is left alone.
ports=()
for port in $(seq 16817 16917); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || ports+=("$port")
  [ ${#ports[@]} -eq 2 ] && break
done
host=$(hostname -s)
head -c 1024 /dev/urandom >"$state/munge.key"
chmod 400 "$state/munge.key"
mkdir -p "$state/ctld" "$state/spool" "$state/runs"
# No cgroup plugins (proctrack/linuxproc, task/none) and no accounting: nothing here needs systemd.
# cred_expire is also how long a requeued job waits before it starts again (120 s by default), and a
# requeued job starts on the scheduler's periodic pass (sched_interval, 60 s by default).
cat >"$state/slurm.conf" <<EOF
ClusterName=toymodels
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge.socket,cred_expire=10
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$state/jobcomp.log
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$state/slurm.conf

say "starting munged, slurmctld, slurmd (ports ${ports[*]}, state in $state)"
munged --foreground --force --key-file="$state/munge.key" --socket="$state/munge.socket" \
  --pid-file="$state/munged.pid" --seed-file="$state/munged.seed" >"$state/munged.log" 2>&1 &
daemons+=($!)
for _ in $(seq 100); do [ -S "$state/munge.socket" ] && break; sleep 0.1; done
[ -S "$state/munge.socket" ] || fail "munged did not create its socket"
slurmctld -D -f "$SLURM_CONF" >"$state/slurmctld.log" 2>&1 &
daemons+=($!)
slurmd -D -f "$SLURM_CONF" >"$state/slurmd.log" 2>&1 &
daemons+=($!)
for _ in $(seq 60); do [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break; sleep 0.5; done
[ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || fail "the node is not idle after 30 s: $(sinfo 2>&1)"
say "$(sinfo -h -o 'node %N: %T, %c CPUs, partition %P')"

# A small grid: 12 runs of 6 shapes; each of 3 shards trains 4 packs of a second or so.
grid=$state/grid.json
cat >"$grid" <<'EOF'
{"name": "slurm test", "n": 32, "m": [4, 6, 8, 10, 12, 14], "p": [0.05, 0.2], "batch": 256, "steps": 1000, "eval_samples": 1024}
EOF
say "the unsharded reference run (outside Slurm)"
dotnet "$sweep" --grid "$grid" --out "$state/whole" --threads 1 --quiet >"$state/whole.log" 2>&1 &
reference=$!

# README, "Slurm": the array, then the merge once every task has succeeded.
submit() {
mkdir -p "$out"
jid=$(sbatch --parsable --array="$array" --cpus-per-task="$cpus" --output="$out/slurm-%A_%a.out" scripts/slurm/sweep.sbatch "$grid" "$out")
merge=$(sbatch --parsable --dependency=afterok:"$jid" --kill-on-invalid-dep=yes --output="$out/slurm-%j.out" --wrap="dotnet $sweep --merge --out '$out'")
}
cpus=1
submitted() { submit; jobs+=("$jid" "$merge"); say "submitted array $jid (--array=$array) and merge $merge into ${out#"$state"/}"; }

# A job's tasks and their states, with the reason where one is not COMPLETED.
show() { squeue -h -t all -j "$1" -o '%i %T %r' | sort -V | awk '{ print "    " $1, $2, ($2 == "COMPLETED" ? "" : "(" $3 ")") }'; }
state_of() { squeue -h -t all -j "$1" -o %T; }
wait_done() { # wait_done SECONDS JOBID...: until none of the jobs is pending, running or requeued
  local limit=$1 deadline=$((SECONDS + $1)); shift
  while true; do
    local active
    active=$(squeue -h -t all -j "$(IFS=,; echo "$*")" -o %T | grep -Evc '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)$' || true)
    [ "$active" = 0 ] && return
    [ $SECONDS -lt $deadline ] || { for j in "$@"; do show "$j"; done; fail "jobs $* not done after $limit s"; }
    sleep 0.5
  done
}
expect() { # expect JOBID STATE
  local s; s=$(state_of "$1")
  [ "$s" = "$2" ] || { show "${1%_*}"; fail "job $1 is $s, expected $2"; }
}
rows() { [ -f "$1" ] && echo $(($(wc -l <"$1") - 1)) || echo 0; }
wait_rows() { # wait_rows FILE N SECONDS: until FILE holds at least N rows
  local deadline=$((SECONDS + $3))
  until [ "$(rows "$1")" -ge "$2" ]; do [ $SECONDS -lt $deadline ] || fail "$1 has no $2 row(s) after $3 s"; sleep 0.05; done
}
# A results file without the columns that depend on how runs were packed (pack_size, steps_per_s), sorted by run.
comparable() {
  awk -F, 'NR == 1 { for (k = 1; k <= NF; k++) skip[k] = ($k == "pack_size" || $k == "steps_per_s"); next }
           { line = ""; for (k = 1; k <= NF; k++) if (!skip[k]) line = line $k ","; print line }' "$1" | sort
}
check_merged() { # check_merged OUT: results.csv equals the unsharded run; report written; no run twice in the shards
  local out=$1
  [ "$(rows "$out/results.csv")" = 12 ] || fail "$out/results.csv has $(rows "$out/results.csv") rows, expected 12"
  diff <(comparable "$state/whole/results.csv") <(comparable "$out/results.csv") >"$state/diff.txt" \
    || { cat "$state/diff.txt"; fail "$out/results.csv differs from the unsharded run"; }
  local twice; twice=$(tail -q -n +2 "$out"/results.shard-*.csv | cut -d, -f1 | sort | uniq -d)
  [ -z "$twice" ] || fail "runs found twice in the shard files: $twice"
  [ "$(tail -q -n +2 "$out"/results.shard-*.csv | wc -l)" = 12 ] || fail "the shard files do not hold 12 rows"
  grep -q "slurm test" "$out/report.html" || fail "$out/report.html was not written"
  say "merged results.csv = unsharded run: 12 runs, every column but pack_size and steps_per_s equal (weights_sha256 included); report.html written; no run twice"
}

say "1. --array=0-2 and a merge after it"
out=$state/runs/first array=0-2
submitted
wait_done 120 "$jid" "$merge"
show "$jid"; show "$merge"
for t in 0 1 2; do expect "${jid}_$t" COMPLETED; done
expect "$merge" COMPLETED
wait "$reference" || { cat "$state/whole.log"; fail "the unsharded run failed"; }
check_merged "$out"

say "2. re-submitted as --array=0-4:2 (step 2: the same three shards): nothing trains"
array=0-4:2
submitted
wait_done 120 "$jid" "$merge"
show "$jid"; show "$merge"
for t in 0 2 4; do
  expect "${jid}_$t" COMPLETED
  grep -q "4 already done, 0 to train" "$out/slurm-${jid}_$t.out" || fail "task ${jid}_$t trained: $(cat "$out/slurm-${jid}_$t.out")"
done
expect "$merge" COMPLETED
grep -h "already done" "$out"/slurm-"${jid}"_*.out | sed 's/^/    /'
check_merged "$out"

say "2b. parts of the array: --array=0,2 with --shard-count 3 and the sub-range --array=1-2 train nothing; the list --array=0,2 alone is refused"
chosen=$(sbatch --parsable --array=0,2 --output="$out/slurm-%A_%a.out" scripts/slurm/sweep.sbatch "$grid" "$out" --shard-count 3)
range=$(sbatch --parsable --array=1-2 --output="$out/slurm-%A_%a.out" scripts/slurm/sweep.sbatch "$grid" "$out")
list=$(sbatch --parsable --array=0,2 --output="$out/slurm-%A_%a.out" scripts/slurm/sweep.sbatch "$grid" "$out")
jobs+=("$chosen" "$range" "$list")
wait_done 60 "$chosen" "$range" "$list"
show "$chosen"; show "$range"; show "$list"
for t in 0 2; do
  expect "${chosen}_$t" COMPLETED
  grep -q "shard $t/3: 4 runs; 4 already done, 0 to train" "$out/slurm-${chosen}_$t.out" || fail "task ${chosen}_$t: $(cat "$out/slurm-${chosen}_$t.out")"
done
for t in 1 2; do
  expect "${range}_$t" COMPLETED
  grep -q "shard $((t - 1))/2: 6 runs; 6 already done, 0 to train" "$out/slurm-${range}_$t.out" || fail "task ${range}_$t: $(cat "$out/slurm-${range}_$t.out")"
  expect "${list}_$((t * 2 - 2))" FAILED
done
grep -h "already done" "$out"/slurm-{"$chosen","$range"}_*.out | sed 's/^/    /'
sed 's/^/    /' "$out/slurm-${list}_0.out"
[ ! -e "$out/results.shard-0-of-2.csv" ] || [ "$(rows "$out/results.shard-0-of-2.csv")" = 0 ] || fail "the sub-range trained runs again"

say "3. --array=3-5 (SLURM_ARRAY_TASK_MIN 3) into a new folder; task 3 is cancelled and task 4 requeued mid-run"
out=$state/runs/interrupted array=3-5
submitted
wait_rows "$out/results.shard-0-of-3.csv" 1 60
expect "${jid}_3" RUNNING
scancel "${jid}_3" || fail "scancel ${jid}_3"
say "scancel ${jid}_3 with $(rows "$out/results.shard-0-of-3.csv") of its 4 runs recorded"
wait_rows "$out/results.shard-1-of-3.csv" 1 60
expect "${jid}_4" RUNNING
scontrol requeue "${jid}_4" || fail "scontrol requeue ${jid}_4"
say "scontrol requeue ${jid}_4 with $(rows "$out/results.shard-1-of-3.csv") of its 4 runs recorded"
wait_done 120 "$jid" "$merge"
show "$jid"; show "$merge"
expect "${jid}_3" CANCELLED
expect "${jid}_4" COMPLETED
expect "${jid}_5" COMPLETED
expect "$merge" CANCELLED # afterok can no longer be satisfied: --kill-on-invalid-dep cancels it
restarts=$(scontrol -o show job "${jid}_4" | grep -o 'Restarts=[0-9]*')
[ "$restarts" = Restarts=1 ] || fail "task ${jid}_4: $restarts, expected Restarts=1"
say "task ${jid}_4 ran twice ($restarts): $(grep -o '[0-9]* already done, [0-9]* to train' "$out/slurm-${jid}_4.out" | paste -sd '|' | sed 's/|/, then /')"
done_before=$(rows "$out/results.shard-0-of-3.csv")
[ "$done_before" -lt 4 ] || fail "task ${jid}_3 finished its shard before it was cancelled"
[ ! -f "$out/results.csv" ] || fail "results.csv was merged although a task was cancelled"

say "4. the same submission again: the cancelled shard finishes, the others train nothing"
submitted
wait_done 120 "$jid" "$merge"
show "$jid"; show "$merge"
for t in 3 4 5; do expect "${jid}_$t" COMPLETED; done
expect "$merge" COMPLETED
grep -q "$done_before already done, $((4 - done_before)) to train" "$out/slurm-${jid}_3.out" || fail "task ${jid}_3: $(cat "$out/slurm-${jid}_3.out")"
grep -h "already done" "$out"/slurm-"${jid}"_*.out | sed 's/^/    /'
check_merged "$out"
leftovers=$(find "$out" -name '*.tmp' | wc -l)
say "temporary files left by the killed tasks: $leftovers"

say "every job end the controller recorded (jobcomp; a requeued task ends twice):"
awk '{ delete f; for (k = 1; k <= NF; k++) { split($k, kv, "="); f[kv[1]] = substr($k, length(kv[1]) + 2) }
       task = f["ArrayJobId"] > 0 ? f["ArrayJobId"] "_" f["ArrayTaskId"] : "-"
       printf "    job %s  %-6s %-9s exit %s  %s..%s\n", f["JobId"], task, f["JobState"], f["ExitCode"], substr(f["StartTime"], 12), substr(f["EndTime"], 12) }' "$state/jobcomp.log"
say "done in $((SECONDS - started)) s"
