#!/usr/bin/env bash
# Runs a command and prints how long it took, wall and CPU of its process
# tree, so that `make test` and .ci/run show where the time goes:
#
#   scripts/timed.sh NAME COMMAND [ARG...]
#
# With STEP_TIMES set to a file, a line "NAME<TAB>seconds<TAB>cpu" is also
# appended to it (.ci/run prints the table at the end).
set -uo pipefail
name=$1
shift
start=$(date +%s.%N)
# bash's `times` reports the children's user and system time once they exit.
"$@"
rc=$?
end=$(date +%s.%N)
tmp=$(mktemp)
times >"$tmp" # in this shell: its second line is the children's user and system time
{ read -r _ _; read -r cu cs; } <"$tmp"
rm -f "$tmp"
secs() { # 1m2.345s -> 62.345
	local v=${1%s} m=0
	if [[ $v == *m* ]]; then m=${v%%m*}; v=${v#*m}; fi
	awk -v m="$m" -v s="$v" 'BEGIN { printf "%.1f", m * 60 + s }'
}
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
cpu=$(awk -v u="$(secs "$cu")" -v s="$(secs "$cs")" 'BEGIN { printf "%.1f", u + s }')
status=ok
[ $rc -eq 0 ] || status="FAILED ($rc)"
printf '== %s: %ss wall, %ss CPU, %s\n' "$name" "$wall" "$cpu" "$status"
if [ -n "${STEP_TIMES:-}" ]; then
	printf '%s\t%s\t%s\t%s\n' "$name" "$wall" "$cpu" "$status" >>"$STEP_TIMES"
fi
exit $rc
