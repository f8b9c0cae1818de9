#!/bin/sh
# Make (or refresh) the test deployment in DIR for the binaries in BUILD:
# development keys and build configuration once; enclave info, listing the
# services and the test programs that act as attested peers, every run
# (binaries change between runs).  The test programs are peers like any
# service: itest may call echo's internal endpoint, attest-test may not;
# bench_echo serves attested in-process endpoints of its own;
# bench-storage (bench/bench_storage) may call storage's internal endpoint.
set -eu
build=${1:?usage: make-test-deploy.sh BUILD DIR}
dir=${2:?usage: make-test-deploy.sh BUILD DIR}
cl="$build/cloister"
if [ ! -f "$dir/build.json" ]; then
	rm -rf "$dir"
	"$cl" dev init "$dir" --inbound echo=itest,frontend \
		--inbound authentication=frontend,itest \
		--inbound access_control=frontend,management,itest,acl-client-test \
		--inbound management=frontend,itest \
		--inbound scheduler=execution,itest \
		--inbound storage=management,scheduler,itest,storage-test,bench-storage,audit-test \
		>/dev/null
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
	storage-test="$build/tests/storage_test" \
	audit-test="$build/tests/audit_test" \
	itest="$build/tests/itest" \
	acl-client-test="$build/tests/acl_client_test" \
	attest-test="$build/tests/attest_test" \
	bench="$build/bench/bench_echo" \
	bench-storage="$build/bench/bench_storage" >/dev/null
for key in "$dir"/keys/auditor-*.key; do
	name=$(basename "$key" .key)
	name=${name#auditor-}
	"$cl" enclave-info sign --auditor "$name" --key "$key" \
		"$dir/enclave_info.json" >/dev/null
done
