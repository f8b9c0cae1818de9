#!/bin/sh
# The platform client library (lib/client.h) against a running
# deployment: cloisterd up, two users registered with the CLI, then
# tests/client_test drives tasks through the library alone.
. "$(dirname "$0")/../lib/platform.sh"
platform_up client
platform_user fo FunctionOwner
platform_user ann DataOwner lab
"$b/tests/client_test" "$d" "$d/pw" || fail "client_test"
"$b/cloisterd" down --dir "$d" >/dev/null
