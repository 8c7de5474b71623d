#!/usr/bin/env bash
# A throw-away PostgreSQL server for tests and benchmarks, on 127.0.0.1 only.
#
#   scripts/postgres.sh start    install the server if missing (apt-get), initdb, start, create
#                                role + database `ghee` (CREATEDB), print the DATABASE_URL
#   scripts/postgres.sh url      print the DATABASE_URL of the running server (exit 1 if none)
#   scripts/postgres.sh status   exit 0 when running
#   scripts/postgres.sh stop     stop it (the cluster is kept for the next start)
#   scripts/postgres.sh destroy  stop it and delete the cluster
#
# The cluster lives in var/pg (GHEE_PG_DIR overrides), private to its owner (0700). Port:
# GHEE_PG_PORT, default 55432, or the next one this script can bind (a port is free when a
# socket binds it, as PostgreSQL will; something listening there or merely bound to it makes
# it taken). When another process takes the port between that check and PostgreSQL's own
# bind ("Address already in use"), the start moves to the next free port, a few times.
# Connections are trusted: the server listens on loopback and on a unix socket inside the
# cluster directory only. GHEE_PG_BINDIR points at other server binaries (the tests of this
# script use stand-ins). Everything this script says goes to stderr; stdout carries only the
# URL.
set -euo pipefail

cd "$(dirname "$0")/.."
PG_DIR="${GHEE_PG_DIR:-$PWD/var/pg}"
DEFAULT_PORT="${GHEE_PG_PORT:-55432}"
DB_NAME=ghee
DB_USER=ghee
PORT_TRIES=5 # starts that found their port taken before giving up

say() { echo "postgres.sh: $*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}

find_bindir() {
	local dir
	if [[ -n "${GHEE_PG_BINDIR:-}" ]]; then
		echo "$GHEE_PG_BINDIR"
		return 0
	fi
	# Newest major version first.
	for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
		if [[ -x "$dir/pg_ctl" && -x "$dir/initdb" ]]; then
			echo "$dir"
			return 0
		fi
	done
	if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
		dirname "$(command -v pg_ctl)"
		return 0
	fi
	return 1
}

install_server() {
	command -v apt-get >/dev/null || die "PostgreSQL server binaries not found and apt-get is not available"
	[[ $EUID -eq 0 ]] || die "PostgreSQL server binaries not found; installing them needs root (apt-get)"
	say "installing PostgreSQL with apt-get (this takes a minute)"
	export DEBIAN_FRONTEND=noninteractive
	timeout 600 apt-get update -qq >&2 || die "apt-get update failed"
	timeout 900 apt-get install -y -qq --no-install-recommends postgresql >&2 ||
		die "apt-get install postgresql failed"
}

# Run a command as the cluster's owner: `postgres` when we are root (PostgreSQL refuses to
# run as root), ourselves otherwise.
as_owner() {
	if [[ $EUID -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Exit 0 when a socket can bind 127.0.0.1:PORT the way PostgreSQL binds it (SO_REUSEADDR,
# so connections of an earlier server lingering in TIME_WAIT do not count). A connect would
# miss a socket that is bound but not (yet) listening.
port_free() {
	python3 -c '
import socket, sys
probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    probe.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
' "$1" 2>/dev/null
}

# The first port from $1 on that port_free finds free.
free_port_from() {
	local port="$1"
	while ! port_free "$port"; do
		port=$((port + 1))
		[[ $port -lt $((DEFAULT_PORT + 100)) ]] || die "no free port from $DEFAULT_PORT to $port"
	done
	echo "$port"
}

data_dir() { cat "$PG_DIR/location" 2>/dev/null || echo "$PG_DIR/data"; }
port() { cat "$PG_DIR/port"; }
url() { echo "postgres://$DB_USER:$DB_USER@127.0.0.1:$(port)/$DB_NAME"; }

is_running() {
	local bindir data
	[[ -f "$PG_DIR/port" ]] || return 1
	bindir="$(find_bindir)" || return 1
	data="$(data_dir)"
	[[ -f "$data/PG_VERSION" ]] || return 1
	as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# The cluster directory must be writable by the owner; var/ inside a checkout under a
# private home (e.g. /root) is not reachable by `postgres`, so fall back to a private
# directory under /tmp and remember where it is.
choose_data_dir() {
	local data="$PG_DIR/data"
	mkdir -p -m 700 "$data"
	chmod 700 "$data"
	if [[ $EUID -eq 0 ]]; then
		chown postgres: "$data"
		chmod 700 "$data"
		if ! runuser -u postgres -- test -w "$data"; then
			rmdir "$data" 2>/dev/null || true
			data="$(mktemp -d /tmp/ghee-pg.XXXXXX)"
			chown postgres: "$data"
			chmod 700 "$data"
			say "user postgres cannot write under $PG_DIR; using $data"
		fi
	fi
	echo "$data" >"$PG_DIR/location"
	echo "$data"
}

start() {
	local bindir data port psql
	mkdir -p "$PG_DIR"
	if is_running; then
		say "already running on 127.0.0.1:$(port) ($(data_dir))"
		url
		return 0
	fi
	bindir="$(find_bindir)" || {
		install_server
		bindir="$(find_bindir)" || die "PostgreSQL installed but pg_ctl/initdb not found"
	}
	if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
		useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres ||
			die "cannot create the postgres user"
	fi
	own_cluster_dir

	data="$(data_dir)"
	if [[ $EUID -eq 0 && -f "$data/PG_VERSION" ]] && ! runuser -u postgres -- test -r "$data/PG_VERSION"; then
		# e.g. `make run` made var/ private (0700, ghee's data directory) after this cluster
		# was created there: postgres can no longer reach it. Start a fresh one elsewhere.
		say "user postgres cannot reach the cluster in $data (a parent directory is private); starting a fresh one"
		data=""
	fi
	if [[ -z "$data" || ! -f "$data/PG_VERSION" ]]; then
		data="$(choose_data_dir)"
		say "initdb $data ($("$bindir/postgres" --version))"
		as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 \
			--locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
			die "initdb failed; see $PG_DIR/initdb.log"
	fi

	port="$(free_port_from "$DEFAULT_PORT")"
	start_server "$bindir" "$data" "$port"
	port="$(port)"
	for _ in $(seq 1 60); do
		"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" && break
		sleep 0.5
	done
	"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" || die "the server is not accepting connections"

	psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres)
	if [[ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname='$DB_USER'")" != 1 ]]; then
		"${psql[@]}" -c "CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_USER'" >&2
	fi
	if [[ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'")" != 1 ]]; then
		"${psql[@]}" -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >&2
	fi
	say "running on 127.0.0.1:$port ($data)"
	url
}

# start_server BINDIR DATA PORT: pg_ctl start on PORT, or on the next free port when another
# process bound PORT first; the port it runs on is written to $PG_DIR/port.
start_server() {
	local bindir="$1" data="$2" port="$3" log="$2/server.log" tries=0 seen
	while :; do
		seen="$(stat -c %s "$log" 2>/dev/null || echo 0)"
		# Loopback TCP only, socket inside the data directory; durability settings stay
		# default. -w waits until the server accepts connections.
		if as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$data' -c max_connections=200" \
			start >/dev/null 2>"$PG_DIR/pg_ctl.err" 9>&-; then
			echo "$port" >"$PG_DIR/port"
			return 0
		fi
		if ! tail -c "+$((seen + 1))" "$log" 2>/dev/null | grep -q "Address already in use"; then
			cat "$PG_DIR/pg_ctl.err" >&2
			tail -c "+$((seen + 1))" "$log" 2>/dev/null | tail -n 20 >&2 || true
			die "the server did not start (its log: $log)"
		fi
		tries=$((tries + 1))
		[[ $tries -lt $PORT_TRIES ]] ||
			die "the server did not start: $tries ports in turn were taken as it bound them (last $port)"
		say "port $port was taken after it was checked (Address already in use); trying the next free port"
		port="$(free_port_from $((port + 1)))"
	done
}

stop() {
	local bindir data
	if ! is_running; then
		say "not running"
		return 0
	fi
	bindir="$(find_bindir)"
	data="$(data_dir)"
	as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
	say "stopped"
}

destroy() {
	local data
	stop
	data="$(data_dir)"
	rm -rf "$PG_DIR"
	[[ "$data" == /tmp/ghee-pg.* ]] && rm -rf "$data"
	say "destroyed"
}

# The cluster directory is private (0700); as root it belongs to postgres, which must reach
# data/ inside it.
own_cluster_dir() {
	chmod 700 "$PG_DIR"
	if [[ $EUID -eq 0 ]] && id postgres >/dev/null 2>&1; then
		chown postgres: "$PG_DIR"
	fi
}

# One start/stop at a time (several test runs may share this checkout). Everything this
# script creates is private to its owner.
mkdir -p "$(dirname "$PG_DIR")"
umask 077
mkdir -p "$PG_DIR"
own_cluster_dir
exec 9>"$PG_DIR/.lock"
flock -w 120 9 || die "timed out waiting for $PG_DIR/.lock"

case "${1:-}" in
start) start ;;
stop) stop ;;
destroy) destroy ;;
status) is_running ;;
url)
	is_running || die "not running (scripts/postgres.sh start)"
	url
	;;
*)
	echo "usage: $0 start|stop|status|url|destroy" >&2
	exit 2
	;;
esac
