#!/bin/sh
# A throwaway PostgreSQL for the tests, on 127.0.0.1 only.
#   tests/pg.sh start DIR   create a cluster in DIR (if absent), start it on a
#                           free port, create database yizhan_test, and print
#                           its URI (the only line on stdout)
#   tests/pg.sh stop DIR    stop it
# Trust authentication: the server listens on loopback and on a unix socket
# inside DIR, nowhere else.  fsync is off: the data is disposable.
# As root, the server runs as the user postgres (initdb refuses root), which
# must be able to reach DIR.
set -eu

usage() {
	echo "usage: $0 start|stop DIR" >&2
	exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
	echo "pg.sh: no PostgreSQL server in /usr/lib/postgresql/*/bin (run scripts/deps.sh test)" >&2
	exit 1
fi

if [ "$(id -u)" = 0 ]; then
	as() { runuser -u postgres -- "$@"; }
else
	as() { "$@"; }
fi

running() {
	[ -f "$dir/data/postmaster.pid" ] && as "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

case "$cmd" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$dir"
		if ! runuser -u postgres -- test -w "$dir"; then
			echo "pg.sh: user postgres cannot write $dir (is a parent folder private?)" >&2
			exit 1
		fi
	fi
	# postgres may not be able to read the caller's current folder
	cd "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
			>"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
	fi
	as mkdir -p "$dir/sock"
	if running; then
		port=$(cat "$dir/port")
	else
		tries=0
		while :; do
			tries=$((tries + 1))
			port=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000))
			# a port in use makes the start fail: try another
			if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o \
				"-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=600 -c shared_buffers=64MB" \
				start >/dev/null 2>&1; then
				break
			fi
			if [ $tries -ge 10 ]; then
				echo "pg.sh: the server does not start; see $dir/server.log:" >&2
				tail -n 20 "$dir/server.log" >&2
				exit 1
			fi
		done
		echo "$port" >"$dir/port.tmp" && mv "$dir/port.tmp" "$dir/port"
	fi
	if ! as "$bin/psql" -h "$dir/sock" -p "$port" -U postgres -d postgres -Atq \
		-c "SELECT 1 FROM pg_database WHERE datname = 'yizhan_test'" | grep -q 1; then
		as "$bin/createdb" -h "$dir/sock" -p "$port" -U postgres -E UTF8 yizhan_test >&2
	fi
	echo "postgresql://postgres@127.0.0.1:$port/yizhan_test"
	;;
stop)
	[ -d "$dir" ] || exit 0
	dir=$(cd "$dir" && pwd)
	cd "$dir"
	if running; then
		as "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
	fi
	;;
*)
	usage
	;;
esac
