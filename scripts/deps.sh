#!/bin/sh
# Installs the Debian packages yizhan needs and the machine lacks.
#   scripts/deps.sh build   what `make` and `make run` need
#   scripts/deps.sh test    what `make test`, `make bench` and `make fuzz` add
# As root it runs apt-get; otherwise sudo if it can; otherwise it names the
# packages to install and fails.
set -e
BUILD="build-essential pkg-config libmicrohttpd-dev libsqlite3-dev libpq-dev libsodium-dev libjansson-dev liboath-dev libcsv-dev libqrencode-dev libcairo2-dev libpango1.0-dev libcurl4-openssl-dev libmagic-dev libxlsxwriter-dev libzip-dev libexpat1-dev fonts-noto-cjk"
TEST="libcmocka-dev postgresql python3 chromium nodejs npm wrk clang libclang-rt-14-dev openssl poppler-utils zbar-tools"

case "${1:-build}" in
build) want="$BUILD" ;;
test) want="$TEST" ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*)
		# Tools present by other means (for example node from another source) count.
		case "$p" in
		nodejs) command -v node >/dev/null 2>&1 && continue ;;
		npm) command -v npm >/dev/null 2>&1 && continue ;;
		python3) command -v python3 >/dev/null 2>&1 && continue ;;
		esac
		missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "yizhan: installing Debian packages:$missing"
if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo"
else
	echo "yizhan: please install them as root:" >&2
	echo "  apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
