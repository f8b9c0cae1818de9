#!/bin/sh
# Run the whole suite: fuzz smoke runs (build-fuzz), every test under
# ASan+UBSan (build-asan), then every test on the normal build (build).
# Each part prints CTest's own summary; the last line is the total.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 rc=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for dir in build-fuzz build-asan build; do
	echo "=== tests in $dir ==="
	out=$(mktemp)
	ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" \
		--timeout 300 ${CTEST_ARGS:-} 2>&1 | tee "$out"
	st=$?
	[ "$st" -ne 0 ] && rc=1
	line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$out" | tail -1)
	if [ -n "$line" ]; then
		total=$(echo "$line" | sed -E 's/.* out of ([0-9]+).*/\1/')
		failed=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/')
		pass=$((pass + total - failed))
		fail=$((fail + failed))
	else
		echo "no CTest summary from $dir" >&2
		rc=1
		fail=$((fail + 1))
	fi
	rm -f "$out"
done
echo "$pass passed, $fail failed"
exit $rc
