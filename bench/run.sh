#!/bin/sh
# make bench: measure the RPC core (the echo service) and the storage
# service against Redis 7 over TLS 1.3 on this machine, and the store's
# backends on their own, and print tables comparing them.
#
#   bench/run.sh BUILD-DIR
#
# Makes throwaway certificates (tools/gen-dev-certs.sh) that both servers
# use and a test deployment (tests/lib/make-test-deploy.sh), runs
# BUILD-DIR/bench/bench_echo (which starts cloister-echo through the test
# harness), then BUILD-DIR/bench/bench_storage (cloister-storage on LMDB,
# then on a throwaway PostgreSQL that tests/lib/pg.sh starts and this
# script always stops, and each backend in process), then starts its own
# redis-server on a free port of 127.0.0.1 in a temporary directory, runs
# redis-benchmark against it (PING, then GET and SET of 100-byte values)
# and points bench_echo's handshake loop at it, stops it, and prints the
# tables.  bench/README.md explains every figure.
#
# Environment: BENCH_SECONDS (each measurement against a server, default
# 5), BENCH_DIRECT_SECONDS (each measurement of a backend in process,
# default a quarter of BENCH_SECONDS), BENCH_CONNS (default 32),
# BENCH_HS_THREADS (default 4), BENCH_STORE_THREADS (default 4),
# BENCH_TASK_STORE (lmdb, or mem to leave the disk out).  With the
# defaults the whole run takes about 2.5 minutes.
#
# Prints figures, never judges them: the exit status is non-zero only for
# a real failure (a missing tool, a server that did not start, a failed
# request).
set -eu

usage() {
	echo "usage: bench/run.sh BUILD-DIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd) || usage
bin=$build/bench/bench_echo
sbin=$build/bench/bench_storage
tbin=$build/bench/bench_task

secs=${BENCH_SECONDS:-5}
conns=${BENCH_CONNS:-32}
hs_threads=${BENCH_HS_THREADS:-4}
store_threads=${BENCH_STORE_THREADS:-4}
if ! awk -v s="$secs" 'BEGIN { exit !(s + 0 == s && s >= 0.1 && s <= 3600) }'; then
	echo "run.sh: BENCH_SECONDS='$secs' is not a number of seconds in [0.1, 3600]" >&2
	exit 2
fi
export BENCH_SECONDS="$secs" BENCH_CONNS="$conns" BENCH_HS_THREADS="$hs_threads" \
	BENCH_STORE_THREADS="$store_threads"

for tool in redis-server redis-benchmark redis-cli openssl timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "run.sh: '$tool' is not installed (make deps installs it)" >&2
		exit 1
	fi
done
if [ ! -x "${PGBIN:-/usr/lib/postgresql/15/bin}/initdb" ]; then
	echo "run.sh: PostgreSQL 15 is not installed (make deps installs it)" >&2
	exit 1
fi
for b in "$bin" "$sbin" "$tbin"; do
	[ -x "$b" ] || { echo "run.sh: no '$b' (build first)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/cl-bench.XXXXXX)
certs=$tmp/certs
results=$tmp/results
rpid=
pgdir=

stop_redis() {
	[ -n "$rpid" ] || return 0
	kill "$rpid" 2>/dev/null || true
	i=0
	while kill -0 "$rpid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$rpid" 2>/dev/null || true
	wait "$rpid" 2>/dev/null || true
	rpid=
}
# pg.sh stop is safe whatever state pg.sh start left DIR in.
stop_pg() {
	[ -n "$pgdir" ] || return 0
	"$src/tests/lib/pg.sh" stop "$pgdir" || true
	pgdir=
}
cleanup() {
	stop_redis
	stop_pg
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

started=$(date +%s)
load=$(cut -d' ' -f1-3 /proc/loadavg)
"$src/tools/gen-dev-certs.sh" "$certs"
"$src/tests/lib/make-test-deploy.sh" "$build" "$tmp/deploy"
export CL_BUILD_DIR="$build" CL_TEST_CERTS="$certs" CL_SOURCE_DIR="$src" \
	CL_TEST_DEPLOY="$tmp/deploy"
: >"$results"

# --- Cloister ---
echo "run.sh: Cloister echo service ($secs s per measurement)" >&2
"$bin" rpc >>"$results"
echo "run.sh: attested vs plain TLS handshakes (same server code)" >&2
"$bin" attest >>"$results"

# --- Cloister storage ---
echo "run.sh: storage service on LMDB, and the backends in process" >&2
"$sbin" service lmdb "$tmp/lmdb-service" >>"$results"
"$sbin" direct mem >>"$results"
"$sbin" direct lmdb "$tmp/lmdb-direct" >>"$results"
# A PostgreSQL run as 'postgres' (when we are root) must reach its
# directory inside $tmp.
chmod 711 "$tmp"
pgdir=$tmp/pg
pgconn=$("$src/tests/lib/pg.sh" start "$pgdir")
echo "run.sh: storage service on PostgreSQL ($pgconn)" >&2
"$sbin" service pg "$pgconn" >>"$results"
"$sbin" direct pg "$pgconn" >>"$results"
stop_pg

# --- tasks end to end ---
echo "run.sh: echo tasks end to end (storage on LMDB, management, scheduler, execution)" >&2
"$tbin" "$tmp/lmdb-tasks" >>"$results"

# --- Redis ---
# CPU time (clock ticks) used so far by process $1; fields 14 and 15 of
# /proc/PID/stat, counted after the ')' that ends the command name.
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

start_redis() {
	rport=$("$bin" freeport)
	redis-server --bind 127.0.0.1 --port 0 --tls-port "$rport" \
		--tls-cert-file "$certs/server.pem" \
		--tls-key-file "$certs/server.key" \
		--tls-ca-cert-file "$certs/ca.pem" --tls-auth-clients no \
		--save '' --appendonly no --dir "$tmp" \
		--logfile "$tmp/redis.log" --daemonize no </dev/null &
	rpid=$!
	i=0
	while [ $i -lt 100 ]; do
		if ! kill -0 "$rpid" 2>/dev/null; then
			wait "$rpid" 2>/dev/null || true
			rpid=
			return 1
		fi
		if [ "$(redis-cli --tls --cacert "$certs/ca.pem" -h 127.0.0.1 \
		    -p "$rport" ping 2>/dev/null)" = PONG ]; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	stop_redis
	return 1
}

# The port may be taken between freeport and redis-server: try again.
tries=0
until start_redis; do
	tries=$((tries + 1))
	if [ $tries -ge 3 ]; then
		echo "run.sh: redis-server did not start; its log:" >&2
		tail -5 "$tmp/redis.log" >&2 2>/dev/null || true
		exit 1
	fi
done
echo "run.sh: redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') (pid $rpid) on 127.0.0.1:$rport" >&2
echo "redis_version $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')" >>"$results"

# redis-benchmark -t $1 -c $2 -n $3 [more options]; prints
# "rps p50_ms p99_ms" of the test named $1 (one test only).
redis_bench() {
	t=$1
	c=$2
	n=$3
	shift 3
	timeout $(awk -v s="$secs" 'BEGIN { printf "%d", s * 4 + 30 }') \
		redis-benchmark --tls --cacert "$certs/ca.pem" -h 127.0.0.1 \
		-p "$rport" -t "$t" -c "$c" -n "$n" --csv "$@" \
		2>"$tmp/redis-benchmark.err" >"$tmp/redis-benchmark.out" || {
		echo "run.sh: redis-benchmark -t $t -c $c -n $n failed:" >&2
		cat "$tmp/redis-benchmark.err" >&2
		exit 1
	}
	tr -d '"' <"$tmp/redis-benchmark.out" |
	    awk -F, -v t="$t" 'toupper(t) == $1 { print $2, $5, $7; found = 1 }
		END { exit !found }' || {
		echo "run.sh: no $t line from redis-benchmark:" >&2
		cat "$tmp/redis-benchmark.out" >&2
		exit 1
	}
}

# CPU seconds of this shell's finished children (redis-benchmark runs in
# one of them) between two outputs of `times`, which must run in this
# shell itself, not in a $(...) subshell.
children_cpu() {
	cat "$1" "$2" | awk 'NR % 2 == 0 { split($1, u, "m"); split($2, s, "m")
		t[NR] = u[1] * 60 + u[2] + s[1] * 60 + s[2] }
		END { printf "%.3f\n", t[4] - t[2] }'
}

hz=$(getconf CLK_TCK)
# redis_measure KEY TEST C [more options]: a short run to learn the rate,
# then -n for about $secs seconds, with the CPU time of both sides.
redis_measure() {
	key=$1
	t=$2
	c=$3
	shift 3
	cal=$(redis_bench "$t" "$c" $((c == 1 ? 5000 : 20000)) "$@")
	n=$(echo "$cal" | awk -v s="$secs" '{ n = int($1 * s); print n < 1000 ? 1000 : n }')
	echo "run.sh: $key: redis-benchmark -t $t -c $c -n $n $*" >&2
	cpu0=$(cpu_ticks "$rpid")
	times >"$tmp/times0"
	out=$(redis_bench "$t" "$c" "$n" "$@")
	times >"$tmp/times1"
	cpu1=$(cpu_ticks "$rpid")
	cli=$(children_cpu "$tmp/times0" "$tmp/times1")
	echo "$out" | awk -v k="$key" -v n="$n" -v d=$((cpu1 - cpu0)) -v hz="$hz" \
	    -v cli="$cli" '{
		printf "%s_n %d\n%s_rps %.0f\n", k, n, k, $1
		printf "%s_p50_us %.1f\n%s_p99_us %.1f\n", k, $2 * 1000, k, $3 * 1000
		printf "%s_srv_cpu_us %.1f\n", k, d * 1e6 / hz / n
		printf "%s_cli_cpu_us %.1f\n", k, cli * 1e6 / n
	}' >>"$results"
}
for nc in 1 "$conns"; do
	sfx=1
	[ "$nc" = 1 ] || sfx=n
	redis_measure "redis_rt$sfx" ping_mbulk "$nc"
done

# GET and SET as the storage service is measured: 100-byte values, keys
# drawn at random from 10000 (redis-benchmark -r names them
# key:000000000000 to key:000000009999), all set first so that every GET
# finds its key.
awk 'BEGIN { v = sprintf("%100s", ""); gsub(/ /, "x", v)
	for (i = 0; i < 10000; i++)
		printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$100\r\n%s\r\n", i, v
}' >"$tmp/redis-preload"
redis-cli --tls --cacert "$certs/ca.pem" -h 127.0.0.1 -p "$rport" --pipe \
	<"$tmp/redis-preload" >"$tmp/redis-preload.out" 2>&1 || {
	echo "run.sh: preloading Redis failed:" >&2
	cat "$tmp/redis-preload.out" >&2
	exit 1
}
for nc in 1 "$conns"; do
	sfx=1
	[ "$nc" = 1 ] || sfx=n
	redis_measure "redis_get$sfx" get "$nc" -d 100 -r 10000
	redis_measure "redis_set$sfx" set "$nc" -d 100 -r 10000
done
echo "run.sh: redis handshakes" >&2
"$bin" handshake redis "127.0.0.1:$rport" "$rpid" >>"$results"
stop_redis

# --- the table ---
cpus=$(nproc)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
ossl=$(openssl version | awk '{ print $1, $2 }')
awk -v secs="$secs" -v cpus="$cpus" -v model="${cpu_model:-unknown}" \
    -v ossl="$ossl" -v elapsed=$(($(date +%s) - started)) -v load="$load" '
{ v[$1] = $2 }
function row(label, ck, rk, goal, better,    c, r, ratio, verdict) {
	c = v[ck]; r = v[rk]
	if (c == "" || r == "") {
		printf "  %-36s %10s %10s\n", label, c == "" ? "-" : c, r == "" ? "-" : r
		return
	}
	ratio = r > 0 ? sprintf("%.2f", c / r) : "-"
	verdict = ""
	if (goal != "" && ratio != "-")
		verdict = (better == "high" ? c / r >= goal : c / r <= goal) ? \
		    "met" : "NOT met"
	printf "  %-36s %10s %10s %8s   %s\n", label, c, r, ratio,
	    goal == "" ? "" : sprintf("%s %.2f  %s", better == "high" ? ">=" : "<=",
	    goal, verdict)
}
function val(k) {
	return v[k] == "" ? "-" : v[k]
}
# Rates with 1 and N at a time, then p50 latency and server CPU per
# operation for each (a direct store has neither).
function ops(label, p) {
	printf "  %-28s %9s %9s %9s %9s %9s %9s\n", label, val(p "1_rps"),
	    val(p "n_rps"), val(p "1_p50_us"), val(p "n_p50_us"),
	    val(p "1_srv_cpu_us"), val(p "n_srv_cpu_us")
}
END {
	n = v["conns"]; h = v["hs_threads"]
	printf "\nCloister RPC core vs Redis %s, both over TLS 1.3 on 127.0.0.1\n", v["redis_version"]
	printf "  %s CPU(s), %s; %s; %s s per measurement (%d s in all)\n", cpus, model, ossl, secs, elapsed
	printf "  request: echo \047say\047 with a 16-byte message / redis PING_MBULK, one at a time per connection\n"
	printf "  clients: Cloister: one thread per connection, blocking rpc_client_call;\n"
	printf "           Redis: redis-benchmark, one thread, non-blocking\n"
	printf "  handshakes: the same bench_echo loop for both (full TLS 1.3, P-256, no resumption)\n"
	printf "  load average before the run: %s (other work on the machine skews every figure)\n\n", load
	printf "  %-36s %10s %10s %8s   %s\n", "", "Cloister", "Redis", "C/R", "goal"
	row("round trips/s, 1 connection", "cloister_rt1_rps", "redis_rt1_rps", 0.8, "high")
	row("round trips/s, " n " connections", "cloister_rtn_rps", "redis_rtn_rps", 0.8, "high")
	row("p50 round trip (us), 1 connection", "cloister_rt1_p50_us", "redis_rt1_p50_us", 1.5, "low")
	row("p99 round trip (us), 1 connection", "cloister_rt1_p99_us", "redis_rt1_p99_us")
	row("p50 round trip (us), " n " connections", "cloister_rtn_p50_us", "redis_rtn_p50_us")
	row("p99 round trip (us), " n " connections", "cloister_rtn_p99_us", "redis_rtn_p99_us")
	row("handshakes/s, 1 thread", "cloister_hs1_rps", "redis_hs1_rps")
	row("handshakes/s, " h " threads", "cloister_hsn_rps", "redis_hsn_rps")
	printf "  server CPU time (us) per operation:\n"
	row("  round trip, 1 connection", "cloister_rt1_srv_cpu_us", "redis_rt1_srv_cpu_us")
	row("  round trip, " n " connections", "cloister_rtn_srv_cpu_us", "redis_rtn_srv_cpu_us")
	row("  handshake, 1 thread", "cloister_hs1_srv_cpu_us", "redis_hs1_srv_cpu_us")
	row("  handshake, " h " threads", "cloister_hsn_srv_cpu_us", "redis_hsn_srv_cpu_us")
	printf "  client CPU time (us) per operation:\n"
	row("  round trip, 1 connection", "cloister_rt1_cli_cpu_us", "redis_rt1_cli_cpu_us")
	row("  round trip, " n " connections", "cloister_rtn_cli_cpu_us", "redis_rtn_cli_cpu_us")
	row("  handshake, 1 thread", "cloister_hs1_cli_cpu_us", "redis_hs1_cli_cpu_us")
	row("  handshake, " h " threads", "cloister_hsn_cli_cpu_us", "redis_hsn_cli_cpu_us")
	printf "\nWhat attestation adds to a handshake (same in-process server and client, 1 thread)\n"
	printf "  %-36s %10s %10s %8s   %s\n", "", "attested", "plain", "A/P", "goal"
	row("handshakes/s, verifier cache on", "attest_hs1_rps", "plain_hs1_rps", 1 / 1.3, "high")
	row("handshakes/s, cache off (cold)", "attestcold_hs1_rps", "plain_hs1_rps", 1 / 1.3, "high")
	printf "  (goal: attestation adds under 30%% to the handshake cost, i.e. A/P >= 0.77)\n\n"

	t = v["store_threads"]
	printf "Storage: gets and puts of %s-byte values on %s keys (all preloaded), chosen at random\n", v["value_bytes"], v["keys"]
	printf "  service: cloister-storage through its internal endpoint (attested TLS 1.3),\n"
	printf "           values sealed (AES-256-GCM) before they reach the backend;\n"
	printf "           storage_get/storage_put, one client thread and one connection each\n"
	printf "  Redis:   redis-benchmark -t get|set -d 100 -r 10000 over TLS, one thread\n"
	printf "  direct:  store_open in the client process: sealed, no service, no TLS\n"
	printf "  puts:    LMDB syncs every commit (durable when answered): its puts wait for\n"
	printf "           the disk.  The benchmark PostgreSQL runs with fsync=off\n"
	printf "           (tests/lib/pg.sh): its puts are NOT durable here.  Redis keeps\n"
	printf "           nothing on disk (--save \047\047 --appendonly no).\n\n"
	printf "  %-28s %9s %9s %9s %9s %9s %9s\n", "", "ops/s", "ops/s", "p50 us", "p50 us", "srv us", "srv us"
	printf "  %-28s %9s %9s %9s %9s %9s %9s\n", "", "1 conn", n " conns", "1 conn", n " conns", "/op 1", "/op " n
	ops("service, lmdb: get", "svc_lmdb_get")
	ops("service, lmdb: put (synced)", "svc_lmdb_put")
	ops("service, pg: get", "svc_pg_get")
	ops("service, pg: put (no fsync)", "svc_pg_put")
	ops("Redis: GET", "redis_get")
	ops("Redis: SET (memory only)", "redis_set")
	printf "\n  %-28s %9s %9s\n", "", "ops/s", "ops/s"
	printf "  %-28s %9s %9s\n", "", "1 thread", t " thr."
	ops("direct, mem: get", "direct_mem_get")
	ops("direct, mem: put", "direct_mem_put")
	ops("direct, lmdb: get", "direct_lmdb_get")
	ops("direct, lmdb: put (synced)", "direct_lmdb_put")
	ops("direct, pg: get", "direct_pg_get")
	ops("direct, pg: put (no fsync)", "direct_pg_put")
	printf "  (srv us/op: CPU time of the cloister-storage or redis-server process per\n"
	printf "  operation; PostgreSQL\047s own processes are not counted)\n"

	printf "\nGets through the storage service vs Redis GET, both over TLS 1.3\n"
	printf "  %-36s %10s %10s %8s   %s\n", "", "service", "Redis", "S/R", "goal"
	row("gets/s, 1 connection, lmdb", "svc_lmdb_get1_rps", "redis_get1_rps", 0.5, "high")
	row("gets/s, " n " connections, lmdb", "svc_lmdb_getn_rps", "redis_getn_rps", 0.5, "high")
	row("gets/s, 1 connection, pg", "svc_pg_get1_rps", "redis_get1_rps")
	row("gets/s, " n " connections, pg", "svc_pg_getn_rps", "redis_getn_rps")
	row("server CPU us/get, 1 conn., lmdb", "svc_lmdb_get1_srv_cpu_us", "redis_get1_srv_cpu_us")
	row("server CPU us/get, " n " conns, lmdb", "svc_lmdb_getn_srv_cpu_us", "redis_getn_srv_cpu_us")
	row("client CPU us/get, 1 conn., lmdb", "svc_lmdb_get1_cli_cpu_us", "redis_get1_cli_cpu_us")
	row("client CPU us/get, " n " conns, lmdb", "svc_lmdb_getn_cli_cpu_us", "redis_getn_cli_cpu_us")
	printf "  (goal: a get through the service at least half as fast as a Redis GET)\n\n"

	printf "Tasks end to end: builtin-echo, create_task + invoke_task + get_task until\n"
	printf "  finished, as management\047s peer over attested TLS; storage on %s;\n",
	    v["task_store"] == "mem" ? "mem (BENCH_TASK_STORE=mem)" : "LMDB (every write synced)"
	printf "  each worker runs 2 tasks at once, each in a fresh sandboxed child\n"
	printf "  %-44s %10s   %s\n", "", "", "goal"
	printf "  %-44s %10s   %s\n", "latency p50 (ms), one task at a time, 1 worker",
	    v["task_lat_w1_p50_us"] == "" ? "-" : sprintf("%.1f", v["task_lat_w1_p50_us"] / 1000),
	    v["task_lat_w1_p50_us"] == "" ? "" : (v["task_lat_w1_p50_us"] < 20000 ? "< 20  met" : "< 20  NOT met")
	printf "  %-44s %10s\n", "latency p99 (ms), one task at a time, 1 worker",
	    v["task_lat_w1_p99_us"] == "" ? "-" : sprintf("%.1f", v["task_lat_w1_p99_us"] / 1000)
	printf "  %-44s %10s\n", "tasks/s, " v["task_clients"] " clients, 1 worker", val("task_w1_tps")
	printf "  %-44s %10s\n", "tasks/s, " v["task_clients"] " clients, 2 workers", val("task_w2_tps")
	printf "  (%s latency samples; %s and %s tasks in the throughput runs)\n\n",
	    val("task_lat_w1_n"), val("task_w1_n"), val("task_w2_n")
}' "$results"
