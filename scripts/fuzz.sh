#!/usr/bin/env bash
# Runs every fuzz target of the module for a short while (FUZZTIME, default
# 10s each), seeded from its corpus and testdata. Usage: scripts/fuzz.sh [pkg...]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	mapfile -t pkgs < <(go list ./internal/... ./cmd/...)
fi
n=0
for pkg in "${pkgs[@]}"; do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/cwstream-fuzz.log 2>&1 || {
			cat /tmp/cwstream-fuzz.log
			echo "fuzz: $pkg $target failed; the failing input is under testdata/fuzz/$target in that package" >&2
			exit 1
		}
		n=$((n + 1))
	done
done
echo "fuzz: $n targets passed"
