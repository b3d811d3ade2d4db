#!/bin/sh
# Browser journeys against a real server.
#   tests/browser/run.sh BINARY
# Starts BINARY serve --demo on a free loopback port with a fresh data folder,
# runs login.test.mjs, hall.test.mjs and share*.test.mjs with node's test runner (TAP: "# pass N" / "# fail N"),
# keeps screenshots and the server log in tests/browser/artifacts/, stops the
# server with SIGTERM.  Exits non-zero when a journey fails, when the server
# cannot start, exits uncleanly, or a sanitizer reports anything.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 BINARY   (for example build/asan/yizhan)" >&2
	exit 2
fi
case "$1" in
/*) BIN="$1" ;;
*) BIN="$(pwd)/$1" ;;
esac
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE" || exit 2

if [ ! -d node_modules/playwright-core ]; then
	echo "browser: installing node modules (npm ci)"
	npm ci --no-audit --no-fund --loglevel=error || exit 1
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
	echo "browser: ${CHROMIUM:-/usr/bin/chromium} not found (Debian package chromium)" >&2
	exit 1
fi

# The journeys draw PDFs: fontconfig's known once-per-process loss is not ours.
LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$HERE/../lsan.supp:print_suppressions=0}"
export LSAN_OPTIONS

ARTIFACTS="$HERE/artifacts"
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
TMP="$(mktemp -d /tmp/yizhan-browser-XXXXXX)"
DATA="$TMP/data"
LOG="$TMP/server.log"
PID=""

stop_server() {
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null
	# Up to 10 s for requests in flight to finish, then give up on it.
	i=0
	while kill -0 "$PID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$PID" 2>/dev/null; then
		echo "browser: server did not stop within 10 s of SIGTERM" >&2
		kill -KILL "$PID" 2>/dev/null
		SERVER_STATUS=137
	else
		wait "$PID" 2>/dev/null
		SERVER_STATUS=$?
	fi
	PID=""
}

cleanup() {
	stop_server
	[ -f "$LOG" ] && cp "$LOG" "$ARTIFACTS/server.log"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	node -e 'const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

is_up() {
	node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));' "$1"
}

# A port found free can be taken before the server binds it: try a few.
for attempt in 1 2 3; do
	PORT="$(free_port)" || exit 1
	URL="http://127.0.0.1:$PORT"
	rm -rf "$DATA"
	YIZHAN_DEMO_PERSONS=2000 "$BIN" serve --demo --data "$DATA" --port "$PORT" >"$LOG" 2>&1 &
	PID=$!
	i=0
	while [ $i -lt 300 ]; do
		kill -0 "$PID" 2>/dev/null || break
		[ -f "$DATA/demo-credentials.txt" ] && is_up "$URL/api/v1" && break
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$PID" 2>/dev/null && is_up "$URL/api/v1"; then
		break
	fi
	echo "browser: server did not start on port $PORT (attempt $attempt)" >&2
	tail -20 "$LOG" >&2
	stop_server
	[ "$attempt" = 3 ] && exit 1
done
echo "browser: $BIN serving $URL (data $DATA)"

YIZHAN_URL="$URL" YIZHAN_DATA="$DATA" YIZHAN_ARTIFACTS="$ARTIFACTS" \
	node --test --test-reporter=tap --test-concurrency=1 login.test.mjs hall.test.mjs $(ls share*.test.mjs 2>/dev/null)
status=$?

SERVER_STATUS=0
stop_server
if [ "$SERVER_STATUS" -ne 0 ]; then
	echo "browser: server exited with status $SERVER_STATUS after SIGTERM" >&2
	tail -30 "$LOG" >&2
	status=1
fi
if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$LOG"; then
	echo "browser: the sanitizers reported problems in the server:" >&2
	grep -E -A20 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$LOG" | head -60 >&2
	status=1
fi
if grep -qE '^[0-9TZ:-]+ error ' "$LOG"; then
	echo "browser: the server logged errors:" >&2
	grep -E '^[0-9TZ:-]+ error ' "$LOG" | head -20 >&2
	status=1
fi
echo "browser: screenshots and server log in $ARTIFACTS"
exit $status
