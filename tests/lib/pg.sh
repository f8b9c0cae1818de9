#!/bin/sh
# A throwaway PostgreSQL 15 server for tests.
#
#   pg.sh start DIR   initdb a cluster in DIR/data and start it listening
#                     only on a unix socket in DIR (no TCP); prints the
#                     libpq connection string on stdout:
#                       host=DIR dbname=postgres user=cloister
#   pg.sh stop DIR    stop the server (immediate shutdown) and remove DIR
#
# DIR is created (it must not be a directory in use for anything else: it
# is removed on stop) and its path must be short, since a unix socket path
# is limited to 107 bytes.  A server left running in DIR by an earlier run
# that crashed is stopped first, so start is safe to repeat.
#
# As root, the server runs as the 'postgres' system user (initdb refuses
# root) and DIR is handed to it; otherwise as the calling user.  Speed:
# initdb --no-sync and fsync=off, since the data is thrown away.
#
# Whoever starts a server must stop it, even when a test fails: the store
# test registers pg-start and pg-stop as a CTest fixture (setup and
# cleanup), and CTest runs the cleanup whatever happened to the test;
# tests/unit/test_store.c, when it starts its own server, stops it in its
# group teardown.
set -eu

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

usage() {
	echo "usage: pg.sh start DIR | stop DIR" >&2
	exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case $dir in
/*) ;;
*) dir=$(pwd)/$dir ;;
esac

# Run a command as the server's user.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

stop() {
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
		    >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

case $cmd in
start)
	[ -x "$PGBIN/initdb" ] || {
		echo "pg.sh: no PostgreSQL 15 in $PGBIN (install postgresql)" >&2
		exit 1
	}
	if [ ${#dir} -gt 80 ]; then
		echo "pg.sh: '$dir' is too long for a unix socket path" >&2
		exit 1
	fi
	stop
	mkdir -p "$dir"
	chmod 700 "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		getent passwd postgres >/dev/null || {
			echo "pg.sh: running as root needs the 'postgres' user" >&2
			exit 1
		}
		chown postgres: "$dir"
	fi
	if ! as_pg "$PGBIN/initdb" -D "$dir/data" -U cloister -A trust \
	    -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		echo "pg.sh: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		exit 1
	fi
	if ! as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	    -o "-c listen_addresses='' -k $dir -c fsync=off \
	    -c synchronous_commit=off -c full_page_writes=off \
	    -c max_connections=100 -c shared_buffers=32MB" \
	    start >/dev/null 2>&1; then
		echo "pg.sh: server failed to start:" >&2
		cat "$dir/server.log" >&2 || true
		stop
		exit 1
	fi
	echo "host=$dir dbname=postgres user=cloister"
	;;
stop)
	stop
	;;
*)
	usage
	;;
esac
