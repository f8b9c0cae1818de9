# Sourced by the shell tests that run a whole platform with cloisterd:
#
#   . "$(dirname "$0")/../lib/platform.sh"
#   platform_up NAME        # cloisterd up in a fresh /tmp/cl-NAME.* ($d),
#                           # removed (and the platform stopped) at exit;
#                           # the admin logged in
#   platform_user ID ROLE [ATTRIBUTE]
#                           # registered by the admin with password $d/pw,
#                           # and logged in
#
# Also sets b (CL_BUILD_DIR), CLOISTER_DIR and CLOISTER_CREDENTIALS, and
# defines cl (the cloister command) and fail (print FAIL: why, stop the
# platform, exit 1).
set -eu
b=${CL_BUILD_DIR:?}
d=

cl() { "$b/cloister" "$@"; }

platform_down() {
	[ -n "$d" ] || return 0
	"$b/cloisterd" down --dir "$d" >/dev/null 2>&1 || true
}

fail() {
	echo "FAIL: $*"
	platform_down
	exit 1
}

platform_up() {
	d=$(mktemp -d "/tmp/cl-$1.XXXXXX")
	trap 'platform_down; rm -rf "$d"' EXIT
	export CLOISTER_DIR="$d" CLOISTER_CREDENTIALS="$d/credentials.json"
	"$b/cloisterd" up --dir "$d" >/dev/null || fail "cloisterd up"
	cl login --password-file "$d/keys/admin.password" admin >/dev/null
	printf 'a-long-password\n' > "$d/pw"
	chmod 600 "$d/pw"
}

platform_user() {
	cl --user admin user register "$1" --role "$2" ${3:+--attribute "$3"} \
		--password-file "$d/pw" >/dev/null
	cl login --password-file "$d/pw" "$1" >/dev/null
}
