#!/usr/bin/env bash
# Synthesize every shipped environment offline into its own directory and run
# cfn-lint on each template. Called by `make test` (target synth-check).
# Needs: node/npm (npx cdk from package-lock.json), go, cfn-lint, and the
# function binaries from `make lambda`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export CDK_DISABLE_CLI_TELEMETRY=true
export NPM_CONFIG_UPDATE_NOTIFIER=false
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
# Offline: no credentials may leak in, and none are needed.
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN CDK_DEFAULT_ACCOUNT

out="${SYNTH_OUT:-$root/cdk.out/check}"
envs="${SYNTH_ENVS:-dev prod}"

if [[ ! -x node_modules/.bin/cdk ]]; then
  npm ci --no-audit --no-fund
fi
for fn in ingest grafana; do
  if [[ ! -f build/lambda/$fn/bootstrap ]]; then
    echo "check-synth: build/lambda/$fn/bootstrap is missing: run 'make lambda' first" >&2
    exit 1
  fi
done

status=0
for env in $envs; do
  dir="$out/$env"
  rm -rf "$dir"
  echo "== cdk synth -c env=$env -> $dir"
  npx cdk synth --quiet -c env="$env" -o "$dir"
  shopt -s nullglob
  templates=("$dir"/*.template.json)
  shopt -u nullglob
  if (( ${#templates[@]} == 0 )); then
    echo "check-synth: no templates in $dir" >&2
    exit 1
  fi
  echo "== cfn-lint ${#templates[@]} templates of $env"
  # Errors fail; warnings and informational findings are printed only.
  if ! cfn-lint --format parseable --non-zero-exit-code error -- "${templates[@]}"; then
    status=1
  fi
done
exit "$status"
