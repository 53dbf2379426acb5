#!/usr/bin/env bash
# Run a Lantern experiment as a Slurm job array: N shards in parallel, then one merge.
#
#   bash experiments/slurm-array.sh experiments/compare-methods.toml 8     # submit both jobs
#
# run from the repository root on a file system every node sees (the shards write into the same
# reports/<experiment>/ folder). Outside a job this script submits itself twice:
#   1. an array job, tasks 1..N, each running
#        lantern run EXP --shard ${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}
#      (shards are 1-based, as `--shard I/N` expects, hence --array=1-N);
#   2. a merge job that starts after every array task succeeded (--dependency=afterok:<array id>):
#        lantern merge reports/<experiment>
# Equivalent by hand:
#   sbatch --array=1-8 experiments/slurm-array.sh experiments/compare-methods.toml
#   sbatch --dependency=afterok:<that job id> --wrap "target/release/lantern merge reports/compare-methods"
#
# Any other batch scheduler works the same way: start N independent jobs with I = 1..N, each
# running `lantern run EXP --shard I/N` in the repository on a shared file system, and when all
# have finished run `lantern merge reports/<experiment>` once (PBS/Torque: `qsub -J 1-N` and
# PBS_ARRAY_INDEX; LSF: `bsub -J "lantern[1-N]"` and LSB_JOBINDEX; SGE: `qsub -t 1-N` and
# SGE_TASK_ID; HTCondor: `queue N` with I = $(Process)+1; GNU parallel or a shell loop on one
# machine). Each shard writes its own items and parts/shard-I-of-N/ (see README "Scaling out"),
# so the jobs need no coordination. A shard that died can simply be run again with the same
# I/N: finished items are skipped (checked by their map's sha256).
#
# Environment: LANTERN (binary, default target/release/lantern — build it first with `just setup`),
# LANTERN_OUT (an --out folder instead of reports/<experiment name>), LANTERN_ARGS (more
# `lantern run` options, e.g. "--device cuda" or "--set runtime.batch=64"), MERGE_AFTER (afterok,
# or afterany to merge whatever finished even when a shard failed), SBATCH_ARGS (more sbatch
# options for both jobs, e.g. "--partition=cpu --account=myproject").
#
#SBATCH --job-name=lantern
#SBATCH --array=1-4
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=04:00:00
#SBATCH --output=lantern-%A_%a.out
set -euo pipefail

LANTERN=${LANTERN:-target/release/lantern}

usage() {
    echo "usage: bash $0 EXPERIMENT.toml [N]    (submit N shards + a merge; N defaults to 4)" >&2
    exit 2
}

# reports/<[experiment] name> (what `lantern run` writes), or LANTERN_OUT.
out_dir() {
    if [ -n "${LANTERN_OUT:-}" ]; then echo "$LANTERN_OUT"; return; fi
    local name
    name=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["experiment"]["name"])' "$1" 2>/dev/null) ||
        name=$(awk '/^\[/{s=($0=="[experiment]")} s && /^[ \t]*name[ \t]*=/{sub(/^[^=]*=[ \t]*"/,""); sub(/".*$/,""); print; exit}' "$1")
    [ -n "$name" ] || name=$(basename "$1" .toml)
    echo "reports/$name"
}

if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
    # ---- one array task: one shard ----
    [ $# -ge 1 ] || usage
    exp=$1
    cd "${SLURM_SUBMIT_DIR:-.}"
    count=${SLURM_ARRAY_TASK_COUNT:?SLURM_ARRAY_TASK_COUNT not set (Slurm older than 17.02?)}
    index=$SLURM_ARRAY_TASK_ID
    # --array=0-(N-1) also works: shift to 1-based.
    if [ "${SLURM_ARRAY_TASK_MIN:-1}" = 0 ]; then index=$((index + 1)); fi
    out_opt=()
    [ -n "${LANTERN_OUT:-}" ] && out_opt=(--out "$LANTERN_OUT")
    echo "lantern shard $index/$count of $exp on $(hostname), ${SLURM_CPUS_PER_TASK:-?} CPUs"
    # shellcheck disable=SC2086  # LANTERN_ARGS is a list of options
    exec "$LANTERN" run "$exp" --shard "$index/$count" --threads "${SLURM_CPUS_PER_TASK:-1}" \
        ${out_opt[@]+"${out_opt[@]}"} ${LANTERN_ARGS:-}
else
    # ---- submitter (outside Slurm): the array, then the dependent merge ----
    [ $# -ge 1 ] || usage
    exp=$1
    n=${2:-4}
    [ -f "$exp" ] || { echo "slurm-array: no such experiment file: $exp" >&2; exit 1; }
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "slurm-array: N must be a positive integer, got $n" >&2; exit 1; }
    [ -x "$LANTERN" ] || { echo "slurm-array: $LANTERN not found; run \`just setup\` (or set LANTERN=...)" >&2; exit 1; }
    command -v sbatch >/dev/null || { echo "slurm-array: sbatch not found: not a Slurm login node (see the comments for other schedulers)" >&2; exit 1; }
    dir=$(out_dir "$exp")
    # shellcheck disable=SC2086  # SBATCH_ARGS is a list of options
    array_id=$(sbatch --parsable --array="1-$n" ${SBATCH_ARGS:-} "$0" "$exp")
    array_id=${array_id%%;*}
    # The merge is a --wrap job: it does not read this file, so the #SBATCH --array line above
    # does not apply to it. afterok on the array id waits for every task of the array.
    # shellcheck disable=SC2086
    merge_id=$(sbatch --parsable --job-name=lantern-merge --cpus-per-task=1 --time=01:00:00 \
        --output="lantern-merge-%j.out" --dependency="${MERGE_AFTER:-afterok}:$array_id" ${SBATCH_ARGS:-} \
        --wrap="cd $(printf %q "$PWD") && $(printf %q "$LANTERN") merge $(printf %q "$dir")")
    merge_id=${merge_id%%;*}
    echo "submitted $n shards of $exp as job array $array_id (lantern-${array_id}_<I>.out)"
    echo "merge job $merge_id runs \`$LANTERN merge $dir\` after ${MERGE_AFTER:-afterok}:$array_id"
fi
