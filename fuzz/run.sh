#!/bin/sh
# Longer fuzz runs, for `make fuzz`:
#
#   fuzz/run.sh BUILD_DIR SECONDS
#
# Runs every harness built in BUILD_DIR/fuzz/ (a -DCLOISTER_FUZZ=ON build)
# for SECONDS each, one after the other, starting from the checked-in
# seeds in fuzz/corpus/<name>/ (only read) and a scratch corpus in
# BUILD_DIR/fuzz-run/corpus/<name>/, which keeps growing across runs and
# receives every new interesting input.  Per harness it prints the
# executions, coverage and corpus growth, or, on a crash, leak, timeout
# or out-of-memory, where the input was saved (BUILD_DIR/fuzz-run/
# crashes/<name>/, emptied at the start of that harness's run), its
# first bytes in hex, the report and how to reproduce it.  Full logs are
# in BUILD_DIR/fuzz-run/logs/.  Exits non-zero if any harness failed.
set -u

usage() {
	echo "usage: fuzz/run.sh BUILD_DIR SECONDS" >&2
	exit 2
}
[ $# -eq 2 ] || usage
build=$1 secs=$2
case $secs in
''|*[!0-9]*) usage ;;
esac
[ "$secs" -gt 0 ] || usage

src=$(cd "$(dirname "$0")" && pwd) || exit 1
work=$build/fuzz-run
harnesses="fuzz_frame fuzz_request fuzz_response fuzz_conf"
rc=0

count() {
	find "$1" -type f | wc -l | tr -d ' '
}

for name in $harnesses; do
	bin=$build/fuzz/$name
	if [ ! -x "$bin" ]; then
		echo "FAIL  $name: '$bin' not built (configure with" \
		    "-DCMAKE_C_COMPILER=clang -DCLOISTER_FUZZ=ON)"
		rc=1
		continue
	fi
	corpus=$work/corpus/$name
	crashes=$work/crashes/$name
	log=$work/logs/$name.log
	rm -rf "$crashes"
	mkdir -p "$corpus" "$crashes" "$work/logs" || exit 1
	before=$(count "$corpus")

	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$crashes/"
	[ -f "$src/$name.dict" ] && set -- "$@" -dict="$src/$name.dict"
	echo "...   $name: fuzzing for ${secs}s"
	"$bin" "$@" "$corpus" "$src/corpus/$name" >"$log" 2>&1
	st=$?

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
	after=$(count "$corpus")
	found=$(find "$crashes" -type f | head -1)
	if [ "$st" -eq 0 ] && [ -z "$found" ]; then
		echo "ok    $name: ${execs:-?} runs, coverage ${cov:-?}," \
		    "scratch corpus $before -> $after inputs"
		continue
	fi
	rc=1
	echo "FAIL  $name: exit $st, log $log"
	if [ -n "$found" ]; then
		echo "      input: $found ($(wc -c <"$found" | tr -d ' ') bytes)"
		echo "      first bytes:"
		od -An -tx1 -N 64 "$found" | sed 's/^/       /'
		echo "      reproduce: $bin $found"
	else
		echo "      no input saved (see the log)"
	fi
	# the report, without libFuzzer's own frames
	grep -m1 -A 30 -E '^==[0-9]+==.*ERROR|runtime error|^SUMMARY' "$log" |
	    grep -v -E 'fuzzer::|__sanitizer_print_stack_trace|libc_start|'\
'in _start|rudimentary signal|Combine libFuzzer|^Base64|^0x' |
	    sed 's/^/      | /'
done
exit $rc
