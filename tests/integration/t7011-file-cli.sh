#!/bin/sh
# cloister file, as a party uses it before upload and after download:
# keygen (0600, never overwrites), encrypt and decrypt in every scheme,
# the crypto_info files to register (0600), decrypt --crypto-info, and
# refusals that write nothing: another key, another checksum, a truncated
# or altered file, a key file others may read, conflicting options.
set -eu
b=${CL_BUILD_DIR:?}
d=$(mktemp -d /tmp/cl-file.XXXXXX)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cl() { "$b/cloister" "$@"; }
cd "$d"
head -c 100000 /dev/urandom > plain

echo "== keygen: 0600, never over an existing key"
for s in aes-gcm-128 aes-gcm-256 chunked; do
	cl file keygen --scheme $s $s.key
	[ "$(stat -c %a $s.key)" = 600 ] || fail "$s key is not 0600"
done
cp aes-gcm-128.key before
cl file keygen --scheme aes-gcm-128 aes-gcm-128.key 2>err && fail "keygen overwrote a key"
grep -q "never overwrites" err || fail "keygen: $(cat err)"
cmp before aes-gcm-128.key || fail "the key changed"

echo "== every scheme: encrypt, then decrypt with the key or the crypto_info"
for s in aes-gcm-128 aes-gcm-256 chunked; do
	cl file encrypt --scheme $s --key-file $s.key --crypto-info $s.info plain $s.enc > out
	cmac=$(sed -n 's/^cmac //p' out)
	[ -n "$cmac" ] || fail "$s: no cmac"
	[ "$(stat -c %a $s.info)" = 600 ] || fail "$s crypto_info is not 0600"
	grep -q "\"schema\":\"$s\"" $s.info || fail "$s: crypto_info $(cat $s.info)"
	cl file decrypt --crypto-info $s.info --cmac "$cmac" $s.enc $s.dec >/dev/null
	cmp plain $s.dec || fail "$s: decrypted differs"
	if [ $s = chunked ]; then
		cl file decrypt --scheme $s --key-file $s.key $s.enc $s.dec2 >/dev/null
	else
		iv=$(sed -n 's/^iv //p' out)
		cl file decrypt --scheme $s --key-file $s.key --iv "$iv" $s.enc $s.dec2 >/dev/null
	fi
	cmp plain $s.dec2 || fail "$s: decrypted with --key-file differs"
done

echo "== an output's crypto_info: a fresh iv each time"
cl file crypto-info --scheme aes-gcm-128 --key-file aes-gcm-128.key o1.info
cl file crypto-info --scheme aes-gcm-128 --key-file aes-gcm-128.key o2.info
[ "$(stat -c %a o1.info)" = 600 ] || fail "output crypto_info is not 0600"
cmp -s o1.info o2.info && fail "two output crypto_infos share an iv"

echo "== refusals write nothing"
cl file decrypt --crypto-info o1.info aes-gcm-128.enc x 2>err && fail "another key decrypted"
grep -q "does not verify" err || fail "wrong key: $(cat err)"
cl file decrypt --crypto-info chunked.info --cmac 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff \
	chunked.enc x 2>err && fail "another checksum accepted"
head -c 60000 chunked.enc > cut.enc
cl file decrypt --crypto-info chunked.info cut.enc x 2>err && fail "a truncated file decrypted"
cp chunked.enc flip.enc
printf 'x' | dd of=flip.enc bs=1 seek=50000 conv=notrunc 2>/dev/null
cl file decrypt --crypto-info chunked.info flip.enc x 2>err && fail "an altered file decrypted"
[ ! -e x ] || fail "a refused decryption wrote its output"
chmod 644 chunked.key
cl file encrypt --scheme chunked --key-file chunked.key plain y 2>err && fail "a readable key was used"
grep -q "readable by others" err || fail "key mode: $(cat err)"
cl file decrypt --crypto-info chunked.info --key-file chunked.key chunked.enc y 2>err &&
	fail "--crypto-info with --key-file accepted"
cl file decrypt --scheme aes-gcm-256 --crypto-info chunked.info chunked.enc y 2>err &&
	fail "a crypto_info of another scheme accepted"
printf '{"schema":"chunked"}' > notinfo
cl file decrypt --crypto-info notinfo chunked.enc y 2>err && fail "a non-crypto_info file accepted"
grep -q "is not a crypto_info file" err || fail "bad info: $(cat err)"
[ ! -e y ] || fail "a refused command wrote its output"
echo PASS
