#!/bin/sh
# A 16 MiB function payload (a WebAssembly module, say) goes through the
# whole platform: the CLI reads it from a file (--payload-file), sends it
# base64-encoded through the frontend over attested TLS to management,
# which stores it in chunks; reading the function back returns every byte.
# (The anchor failed past about 700 KB.)
. "$(dirname "$0")/../lib/platform.sh"
platform_up payload
platform_user fo FunctionOwner

echo "== register a function whose payload is 16 MiB"
head -c 16777216 /dev/urandom > "$d/module.wasm"
fid=$(cl --user fo function register --name big --executor-type wasm \
	--payload-file "$d/module.wasm" --json |
	sed -n 's/.*"function_id":"\([^"]*\)".*/\1/p')
[ -n "$fid" ] || fail "no function id"

echo "== read it back: every byte"
cl --user fo function get --function-id "$fid" --json > "$d/get.json"
sed -n 's/.*"payload":"\([^"]*\)".*/\1/p' "$d/get.json" | base64 -d > "$d/back.wasm"
cmp "$d/module.wasm" "$d/back.wasm" || fail "payload changed on the way"

echo "== one byte more than 16 MiB is refused with the reason"
head -c 1 /dev/zero >> "$d/module.wasm"
if cl --user fo function register --name big2 --executor-type wasm \
	--payload-file "$d/module.wasm" 2>"$d/err"; then
	fail "a payload over 16 MiB was accepted"
fi
cat "$d/err"
grep -q "payload" "$d/err" || fail "refusal without a reason: $(cat "$d/err")"
"$b/cloisterd" down --dir "$d" >/dev/null
echo PASS
