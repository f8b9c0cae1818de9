#!/bin/sh
# cloisterd up / status / down on a fresh directory: creates what is
# missing, starts every service, prints the endpoints, refuses a second
# up, restarts a killed service, stops everything; a service failing its
# checks makes up fail with that service's reason.
set -eu
b=${CL_BUILD_DIR:?}
d=$(mktemp -d /tmp/cl-supervisor.XXXXXX)
fail() { echo "FAIL: $*"; "$b/cloisterd" down --dir "$d" >/dev/null 2>&1 || true; exit 1; }
trap '"$b/cloisterd" down --dir "$d" >/dev/null 2>&1 || true; rm -rf "$d"' EXIT

echo "== up on an empty directory"
out=$("$b/cloisterd" up --dir "$d") || fail "up failed: $out"
echo "$out"
echo "$out" | grep -Eq '^echo 127\.0\.0\.1:[0-9]+$' || fail "no echo endpoint line"
echo "$out" | grep -Eq '^echo-internal 127\.0\.0\.1:[0-9]+$' || fail "no internal endpoint line"
for f in build.json enclave_info.json enclave_info.json.auditor1.sig runtime.conf keys/attestation-authority.key; do
	[ -e "$d/$f" ] || fail "up did not create $f"
done
[ "$(stat -c %a "$d/keys/attestation-authority.key")" = 600 ] || fail "authority key is not 0600"
addr=$(echo "$out" | awk '$1 == "echo" { print $2 }')

echo "== the platform answers and attests"
[ "$("$b/cloister" echo --dir "$d" say supervised)" = supervised ] || fail "say"
"$b/cloister" attest --dir "$d" --service echo "$addr" | grep -q '^service *echo$' || fail "attest"

echo "== a second up is refused"
if "$b/cloisterd" up --dir "$d" 2>"$d/err"; then fail "second up succeeded"; fi
grep -q "already running" "$d/err" || fail "second up: $(cat "$d/err")"

echo "== a killed service is restarted"
pid=$(pgrep -f "cloister-echo -c $d/runtime.conf")
kill -9 "$pid"
for _ in $(seq 1 100); do
	new=$(pgrep -f "cloister-echo -c $d/runtime.conf" || true)
	[ -n "$new" ] && [ "$new" != "$pid" ] && break
	sleep 0.05
done
[ -n "$new" ] && [ "$new" != "$pid" ] || fail "echo was not restarted"
sleep 0.3
[ "$("$b/cloister" echo --dir "$d" say again)" = again ] || fail "say after restart"

echo "== down stops everything"
"$b/cloisterd" down --dir "$d" | grep -q stopped || fail "down"
pgrep -f "cloister-echo -c $d/runtime.conf" && fail "echo still running"
"$b/cloisterd" status --dir "$d" | grep -q "not running" || fail "status after down"

echo "== a bad option: up fails with the service's file:line reason"
sed -i 's/^\[echo\]$/[echo]\nidle_timeout = soon/' "$d/runtime.conf"
if "$b/cloisterd" up --dir "$d" 2>"$d/err"; then fail "up with a bad option succeeded"; fi
cat "$d/err"
grep -q "runtime.conf:[0-9]*: option 'idle_timeout': 'soon' is not a valid duration" "$d/err" || fail "reason missing"
sed -i '/^idle_timeout = soon$/d' "$d/runtime.conf"
pgrep -f "cloister-echo -c $d/runtime.conf" && fail "echo left running"

echo "== an auditor's signature missing: up fails with that reason"
rm "$d/keys/auditor-auditor2.key" "$d/enclave_info.json.auditor2.sig"
if "$b/cloisterd" up --dir "$d" 2>"$d/err"; then fail "up without auditor2's signature succeeded"; fi
cat "$d/err"
grep -q "lacks the signature of auditor 'auditor2'" "$d/err" || fail "reason missing"
echo PASS
