#!/bin/sh
# Make (or refresh) the test deployment in DIR for the binaries in BUILD:
# development keys and build configuration once; enclave info, listing the
# services and the test programs that act as attested peers, every run
# (binaries change between runs).  The test programs are peers like any
# service: itest may call echo's internal endpoint, attest-test may not;
# bench_echo serves attested in-process endpoints of its own.
set -eu
build=${1:?usage: make-test-deploy.sh BUILD DIR}
dir=${2:?usage: make-test-deploy.sh BUILD DIR}
cl="$build/cloister"
if [ ! -f "$dir/build.json" ]; then
	rm -rf "$dir"
	"$cl" dev init "$dir" --inbound echo=itest,frontend \
		--inbound authentication=frontend,itest \
		--inbound storage=management,scheduler,itest,storage-test >/dev/null
fi
"$cl" enclave-info generate --build-config "$dir/build.json" \
	--out "$dir/enclave_info.json" \
	echo="$build/cloister-echo" \
	authentication="$build/cloister-authentication" \
	frontend="$build/cloister-frontend" \
	storage="$build/cloister-storage" \
	storage-test="$build/tests/storage_test" \
	itest="$build/tests/itest" \
	attest-test="$build/tests/attest_test" \
	bench="$build/bench/bench_echo" >/dev/null
for key in "$dir"/keys/auditor-*.key; do
	name=$(basename "$key" .key)
	name=${name#auditor-}
	"$cl" enclave-info sign --auditor "$name" --key "$key" \
		"$dir/enclave_info.json" >/dev/null
done
