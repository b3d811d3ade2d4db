# Shell functions shared by bench/run.sh and bench/hall.sh (POSIX sh).
# Sourced, never run, after the script has changed to the top folder.
#
# The sourcing script sets:
#   TAG          prefix of the messages ("bench", "bench-hall")
#   BIN          the yizhan binary
#   TMP          its temporary folder; DATA the data folder and LOG the
#                server's log inside it
#   STOP_WAIT    seconds stop_server waits after SIGTERM before SIGKILL
#   START_WAIT   tenths of a second start_server waits for an answer
#   SERVER_ACCESS_LOG  YIZHAN_ACCESS_LOG of the server ("" for none)
# and may redefine the hooks server_prepare (before each attempt to start)
# and server_ready (after /api/v1 answers: is the server ready?).
# start_server sets PORT, BASE and PID.

die() {
	echo "$TAG: $*" >&2
	exit 1
}

need_tools() { # tool...
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (scripts/deps.sh test)"
	done
}

stop_server() {
	[ -n "$PID" ] || return 0
	kill -TERM "$PID" 2>/dev/null
	i=0
	while kill -0 "$PID" 2>/dev/null && [ $i -lt $((STOP_WAIT * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$PID" 2>/dev/null; then
		echo "$TAG: server did not stop within $STOP_WAIT s of SIGTERM; killing it" >&2
		kill -KILL "$PID" 2>/dev/null
	fi
	wait "$PID" 2>/dev/null
	PID=""
}

# Stops the server and removes TMP on exit, also on SIGINT and SIGTERM.
cleanup_on_exit() {
	trap 'stop_server; rm -rf "$TMP"' EXIT
	trap 'exit 130' INT TERM
}

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

server_prepare() { :; }
server_ready() { :; }

# Starts the demo server on DATA on a free loopback port (three attempts)
# and waits until /api/v1 answers and server_ready agrees.  Returns 1 when
# it did not start.
start_server() {
	for attempt in 1 2 3; do
		PORT="$(free_port)" || die "no free port"
		BASE="http://127.0.0.1:$PORT"
		server_prepare
		YIZHAN_ACCESS_LOG="$SERVER_ACCESS_LOG" "$BIN" serve --demo --data "$DATA" --port "$PORT" >>"$LOG" 2>&1 &
		PID=$!
		i=0
		while [ $i -lt "$START_WAIT" ] && kill -0 "$PID" 2>/dev/null; do
			if curl -sf -o /dev/null "$BASE/api/v1" && server_ready; then
				return 0
			fi
			sleep 0.1
			i=$((i + 1))
		done
		echo "$TAG: server did not start on port $PORT (attempt $attempt)" >&2
		tail -20 "$LOG" >&2
		stop_server
	done
	return 1
}

# Signs in a staff member of the demo through the API: the password, then the
# TOTP code that `yizhan user otp` prints.  Sets CSRF and SID.
sign_in_totp() { # login cookie-jar
	CRED="$DATA/demo-credentials.txt"
	PW="$(awk -v l="$1" '$1 == l { print $2 }' "$CRED")"
	[ -n "$PW" ] || die "no $1 in $CRED"
	ANSWER="$(curl -sf -c "$2" -H 'Content-Type: application/json' \
		-d "{\"login\":\"$1\",\"password\":\"$PW\"}" "$BASE/api/v1/session")" ||
		die "POST /api/v1/session failed"
	case "$ANSWER" in
	*'"totp_required"'*) ;;
	*) die "expected totp_required from POST /api/v1/session, got: $ANSWER" ;;
	esac
	CSRF="$(printf '%s' "$ANSWER" | sed -n 's/.*"csrf_token":"\([0-9a-f]*\)".*/\1/p')"
	CODE="$("$BIN" --data "$DATA" user otp "$1" 2>>"$LOG" | tr -d '[:space:]')"
	case "$CODE" in
	[0-9][0-9][0-9][0-9][0-9][0-9]) ;;
	*) die "yizhan user otp $1 printed '$CODE'" ;;
	esac
	ANSWER="$(curl -s -b "$2" -c "$2" -H 'Content-Type: application/json' -H "X-CSRF-Token: $CSRF" \
		-d "{\"code\":\"$CODE\"}" "$BASE/api/v1/session/totp")"
	case "$ANSWER" in
	*'"state":"ok"'*) ;;
	*) die "TOTP step failed: $ANSWER" ;;
	esac
	SID="$(awk '$6 == "yz_sid" { print $7 }' "$2")"
	[ -n "$SID" ] || die "no yz_sid cookie after sign-in"
}

# wrk latency to milliseconds: 812.00us, 1.53ms, 2.01s, 1.00m
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		else if (u == "h") n *= 3600000
		printf "%.3f", n }'
}

# wrk's figures of an output file into RPS, P99 (ms), BAD (non-2xx/3xx),
# SOCK (socket errors).  Returns 1, after showing the file, when it holds none.
wrk_figures() { # wrk-output
	RPS="$(awk '/^Requests\/sec:/ { print $2 }' "$1")"
	P99="$(awk '$1 == "99%" { print $2 }' "$1")"
	[ -n "$RPS" ] && [ -n "$P99" ] || {
		cat "$1" >&2
		return 1
	}
	P99="$(to_ms "$P99")"
	BAD="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$1")"
	BAD="${BAD:-0}"
	SOCK="$(sed -n 's/^ *Socket errors: *//p' "$1")"
}

# Shows the errors of the server's log on stderr; returns 1 when there are any.
server_errors() {
	errors="$(grep -cE '^[0-9TZ:-]+ error |ERROR: |runtime error:' "$LOG")"
	[ "$errors" != 0 ] || return 0
	echo "$TAG: the server logged $errors errors:" >&2
	grep -E '^[0-9TZ:-]+ error |ERROR: |runtime error:' "$LOG" | sort | uniq -c | sort -rn | head -10 >&2
	return 1
}
