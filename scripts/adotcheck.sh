#!/usr/bin/env bash
# Builds the ADOT collector check (tools/adotcheck) into build/adotcheck,
# once per change of its inputs. The collector is the slowest thing the
# tests build (about 9 CPU-minutes from a cold Go cache), and nothing of
# this repository but tools/adotcheck goes into it, so the binary is kept
# outside the checkout under a stamp of its inputs: the module's go.mod,
# go.sum and sources, the Go version and the target platform. A fresh clone
# on a machine that built the same inputs before reuses it; any change of
# them builds again.
#
#   ADOTCHECK_CACHE  where the binaries are kept
#                    (default ${XDG_CACHE_HOME:-~/.cache}/cwstream/adotcheck)
#   ADOTCHECK_FORCE=1  build even when the stamp matches
#
# It vets the module before building it. Both run without -trimpath, so
# that vet's compilation of the collector's ~1,000 dependency packages is
# the build's too (the Go build cache keys them by flags).
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
out=build/adotcheck
cache=${ADOTCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cwstream/adotcheck}

stamp=$(
	{
		"$go" version
		"$go" env GOOS GOARCH CGO_ENABLED
		cd tools/adotcheck && git ls-files -co --exclude-standard | LC_ALL=C sort | while read -r f; do
			printf '%s\n' "$f"
			cat "$f"
		done
	} | sha256sum | cut -c1-16
)
cached="$cache/adotcheck-$stamp"
mkdir -p "$(dirname "$out")"
if [ -x "$cached" ] && [ "${ADOTCHECK_FORCE:-0}" != 1 ]; then
	echo "adotcheck: inputs unchanged (stamp $stamp): reusing $cached"
	# Copied beside and renamed: a running collector (a test) keeps its
	# file, where cp onto it fails with "text file busy".
	cp "$cached" "$out.tmp.$$"
	mv -f "$out.tmp.$$" "$out"
	exit 0
fi
echo "adotcheck: building (stamp $stamp)"
t0=$SECONDS
(cd tools/adotcheck && "$go" vet ./...)
t1=$SECONDS
(cd tools/adotcheck && "$go" build -o "../../$out.tmp.$$" .)
mv -f "$out.tmp.$$" "$out"
echo "adotcheck: vet $((t1 - t0))s, build $((SECONDS - t1))s (the build reuses what vet compiled)"

mkdir -p "$cache"
cp "$out" "$cached.tmp.$$"
mv "$cached.tmp.$$" "$cached"
# Keep the last few stamps only.
ls -t "$cache"/adotcheck-* 2>/dev/null | tail -n +4 | xargs -r rm -f
echo "adotcheck: built $out ($(du -h "$out" | cut -f1)), kept as $cached"
