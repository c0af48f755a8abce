#!/usr/bin/env bash
# Prints the share of each stage of the record path in a CPU profile of
# `cwstream replay` (make bench-e2e BENCH_E2E='-cpuprofile DIR' writes them)
# or of the Lambda handler (go test -cpuprofile of BenchmarkInvoke):
#
#   scripts/profile-stages.sh BINARY PROFILE
#
# A sample counts for the first stage (in this order) whose functions are on
# its stack, so the stages add up to the total. The patterns name the
# functions of this tree; a renamed function moves its time to "other",
# which `go tool pprof -top -ignore=...` then shows.
set -euo pipefail
bin=$1 prof=$2
stages=(
	"read source|source\\.\\(\\*Opener\\)\\.(readAll|readFile)|os\\.ReadFile|io\\.ReadAll"
	"gunzip|compress/gzip|compress/flate"
	"event JSON (Lambda)|envelope\\.|encoding/base64"
	"snappy|golang/snappy"
	"encode|remotewrite\\.\\(\\*plan\\)\\.encode|remotewrite\\.appendLabel"
	"plan (group, guard, shard, cut)|remotewrite\\.\\(\\*plan\\)"
	"HTTP|net/http|^net\\.|internal/poll|remotewrite\\.\\(\\*transport\\)"
	"name + series (+ relabel)|series\\.\\(\\*Builder\\)|naming\\.|relabel\\."
	"cut into records (Split's own walk)|decode\\.Split\\.func2|decode\\.startsChunk"
	"detect|decode\\.Detect|otlp\\.Version|source\\.detect"
	"decode|otlp\\.|cwjson\\.|wire\\.|decode\\.\\(\\*Decoder\\)"
	"GC and allocation|runtime\\.(gcBgMarkWorker|bgsweep|bgscavenge|mallocgc|gcAssist|memclrNoHeapPointers|growslice|newobject)"
)
total=$(go tool pprof -top -nodecount=1 "$bin" "$prof" 2>/dev/null | sed -n 's/.*Total samples = \([0-9.]*\)\(m\?s\).*/\1 \2/p')
read -r tv tu <<<"$total"
[ "$tu" = ms ] && tv=$(awk -v v="$tv" 'BEGIN { print v / 1000 }')
ignore=""
printf '%-34s %8s %6s\n' stage "CPU s" share
sum=0
for s in "${stages[@]}"; do
	name=${s%%|*} re=${s#*|}
	args=(-top -nodecount=100000 -nodefraction=0 -edgefraction=0 -focus="$re")
	[ -n "$ignore" ] && args+=(-ignore="$ignore")
	line=$(go tool pprof "${args[@]}" "$bin" "$prof" 2>/dev/null | sed -n 's/^Showing nodes accounting for \([0-9.]*\)\(m\?s\).*/\1 \2/p' | head -1)
	v=0
	if [ -n "$line" ]; then
		read -r v u <<<"$line"
		[ "$u" = ms ] && v=$(awk -v v="$v" 'BEGIN { print v / 1000 }')
	fi
	printf '%-34s %8.2f %5.1f%%\n' "$name" "$v" "$(awk -v a="$v" -v b="$tv" 'BEGIN { print 100 * a / b }')"
	sum=$(awk -v a="$sum" -v b="$v" 'BEGIN { print a + b }')
	ignore=${ignore:+$ignore|}$re
done
printf '%-34s %8.2f %5.1f%%\n' "other (runtime, start-up, CLI)" "$(awk -v a="$tv" -v b="$sum" 'BEGIN { print a - b }')" "$(awk -v a="$tv" -v b="$sum" 'BEGIN { print 100 * (a - b) / a }')"
printf '%-34s %8.2f\n' total "$tv"
