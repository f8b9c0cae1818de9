#!/bin/sh
# The platform client library (lib/client.h) against a running
# deployment: cloisterd up, two users registered with the CLI, then
# tests/client_test drives tasks through the library alone.
set -eu
b=${CL_BUILD_DIR:?}
d=$(mktemp -d /tmp/cl-client.XXXXXX)
export CLOISTER_DIR="$d" CLOISTER_CREDENTIALS="$d/credentials.json"
fail() { echo "FAIL: $*"; "$b/cloisterd" down --dir "$d" >/dev/null 2>&1 || true; exit 1; }
trap '"$b/cloisterd" down --dir "$d" >/dev/null 2>&1 || true; rm -rf "$d"' EXIT
cl() { "$b/cloister" "$@"; }

"$b/cloisterd" up --dir "$d" >/dev/null || fail "up"
cl login --password-file "$d/keys/admin.password" admin >/dev/null
printf 'a-long-password\n' > "$d/pw"; chmod 600 "$d/pw"
cl --user admin user register fo --role FunctionOwner --password-file "$d/pw" >/dev/null
cl --user admin user register ann --role DataOwner --attribute lab --password-file "$d/pw" >/dev/null
"$b/tests/client_test" "$d" "$d/pw" || fail "client_test"
"$b/cloisterd" down --dir "$d" >/dev/null
