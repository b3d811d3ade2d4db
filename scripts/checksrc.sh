#!/bin/sh
# Source checks run by `make test`: banned functions (unbounded or
# error-blind C library calls, as in curl's checksrc) and stray
# debugging output.  Prints each offence as file:line and fails.
cd "$(dirname "$0")/.." || exit 2
status=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strncat|strtok|atoi|atol|atoll|gets|rand|srand|random|tmpnam|mktemp)[[:space:]]*\('
if grep -nE "$banned" src/*.c src/*/*.c src/*/*/*.c tools/*.c fuzz/*.c tests/unit/*.c 2>/dev/null |
	grep -vE '^\S+:[0-9]+:\s*(/\*|\*)'; then
	echo "checksrc: banned functions above (use snprintf, buf_*, strtol, randombytes_*)" >&2
	status=1
fi
if grep -nE '\bprintf\("DEBUG|fprintf\(stderr, "DEBUG' src -r; then
	echo "checksrc: debugging output left in" >&2
	status=1
fi
[ $status -eq 0 ] && echo "checksrc: ok"
exit $status
