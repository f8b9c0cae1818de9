#!/bin/sh
# Make (or refresh) the test deployment in DIR for the binaries in BUILD:
# development keys and build configuration once; enclave info, listing the
# services and the test programs that act as attested peers, every run
# (binaries change between runs).  The test programs are peers like any
# service: itest may call echo's internal endpoint, attest-test may not;
# bench_echo serves attested in-process endpoints of its own;
# bench-storage (bench/bench_storage) may call storage's internal endpoint;
# bench-task (bench/bench_task) management's.
# execution-testfns is the test worker (tests/lib/testfns.h): the execution
# service built with functions that misbehave on purpose, under a service
# name and measurement of its own, so it is never mistaken for the real
# worker; the scheduler admits it like the real one.
# The inbound lists are part of the build configuration: when they change,
# the deployment is made again (its development keys too).
set -eu
build=${1:?usage: make-test-deploy.sh BUILD DIR}
dir=${2:?usage: make-test-deploy.sh BUILD DIR}
cl="$build/cloister"
inbound="--inbound echo=itest,frontend
	--inbound authentication=frontend,itest
	--inbound access_control=frontend,management,itest,acl-client-test
	--inbound management=frontend,itest,bench-task
	--inbound scheduler=execution,execution-testfns,itest
	--inbound storage=management,scheduler,itest,storage-test,bench-storage,audit-test"
if [ ! -f "$dir/build.json" ] ||
    [ "$(cat "$dir/inbound" 2>/dev/null)" != "$inbound" ]; then
	rm -rf "$dir"
	# the words of $inbound are the arguments
	"$cl" dev init "$dir" $inbound >/dev/null
	printf '%s\n' "$inbound" >"$dir/inbound"
fi
"$cl" enclave-info generate --build-config "$dir/build.json" \
	--out "$dir/enclave_info.json" \
	echo="$build/cloister-echo" \
	authentication="$build/cloister-authentication" \
	frontend="$build/cloister-frontend" \
	storage="$build/cloister-storage" \
	access_control="$build/cloister-access_control" \
	management="$build/cloister-management" \
	scheduler="$build/cloister-scheduler" \
	execution="$build/cloister-execution" \
	execution-testfns="$build/cloister-execution-testfns" \
	storage-test="$build/tests/storage_test" \
	audit-test="$build/tests/audit_test" \
	itest="$build/tests/itest" \
	acl-client-test="$build/tests/acl_client_test" \
	attest-test="$build/tests/attest_test" \
	bench="$build/bench/bench_echo" \
	bench-storage="$build/bench/bench_storage" \
	bench-task="$build/bench/bench_task" >/dev/null
for key in "$dir"/keys/auditor-*.key; do
	name=$(basename "$key" .key)
	name=${name#auditor-}
	"$cl" enclave-info sign --auditor "$name" --key "$key" \
		"$dir/enclave_info.json" >/dev/null
done
