#!/bin/sh
# CTest's short fuzz run of one harness (fuzz/CMakeLists.txt):
#
#   smoke.sh HARNESS SOURCE_FUZZ_DIR SCRATCH_DIR
#
# Runs HARNESS for a few seconds over the checked-in seeds in
# SOURCE_FUZZ_DIR/corpus/<name>/.  libFuzzer writes new inputs into the
# first corpus directory it is given, so that one is a fresh empty
# directory under SCRATCH_DIR, removed afterwards; the seeds are only
# read.  A crashing input is kept in SCRATCH_DIR/<name>-artifacts/
# (emptied at the start of each run).
set -u
[ $# -eq 3 ] || { echo "usage: smoke.sh HARNESS SOURCE_FUZZ_DIR SCRATCH_DIR" >&2; exit 2; }
harness=$1 src=$2 scratch=$3
name=$(basename "$harness")
seeds=$src/corpus/$name
dict=$src/$name.dict

[ -d "$seeds" ] || { echo "$name: no seed corpus '$seeds'" >&2; exit 1; }
rm -rf "$scratch/$name-artifacts"
mkdir -p "$scratch/$name-artifacts" || exit 1
tmp=$(mktemp -d "$scratch/$name-corpus.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

set -- -max_total_time=4 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$scratch/$name-artifacts/"
[ -f "$dict" ] && set -- "$@" -dict="$dict"
"$harness" "$@" "$tmp" "$seeds"
rc=$?
if [ $rc -ne 0 ]; then
	echo "$name: FAILED (exit $rc); crashing input in $scratch/$name-artifacts/:" >&2
	ls -l "$scratch/$name-artifacts/" >&2
fi
exit $rc
