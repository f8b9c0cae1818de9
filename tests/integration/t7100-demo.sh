#!/bin/sh
# The demo's task, end to end, as `make demo` runs it: cloisterd up, nginx
# serving the banks' encrypted files, three banks and a function owner
# through the CLI, a private-join-and-compute task approved by all three,
# run by a worker, each bank decrypting its own result, and another
# bank's key refused on it.  Checks every bank got exactly the join.
set -eu
b=${CL_BUILD_DIR:?}
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp /tmp/cl-demo-out.XXXXXX)
trap 'rm -f "$out"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

BUILD_DIR=$b "$src/scripts/demo" > "$out" 2>&1 || { cat "$out"; fail "demo failed"; }
cat "$out"
grep -q '^status: finished; summary: 3 users join the task in total.$' "$out" ||
	fail "no finished task with its summary"
for bank in bank1 bank2 bank3; do
	sed -n "/^-- $bank's result/,/^--\|^$/p" "$out" > "$out.$bank"
	grep -qx '   alice, 1110' "$out.$bank" && grep -qx '   carol, 3330' "$out.$bank" ||
		{ rm -f "$out.$bank"; fail "$bank's result is not the join"; }
	[ "$(grep -c '^   ' "$out.$bank")" = 2 ] || { rm -f "$out.$bank"; fail "$bank: extra lines"; }
	rm -f "$out.$bank"
done
grep -q "does not verify" "$out" || fail "bank2's key was not refused on bank1's result"
grep -q '^demo finished$' "$out" || fail "demo did not finish"
echo PASS
