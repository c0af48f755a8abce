#!/usr/bin/env bash
# Synthesize every shipped environment offline into its own directory, then
# check every template with cfn-lint and with cfn-guard and the AWS Control
# Tower proactive rules (infra/templatecheck: fails on any lint error or
# guard finding not suppressed with a reason in the resource's metadata).
# Called by `make test` (target synth-check).
# Needs: node/npm (npx cdk and @cdklabs/cdk-validator-cfnguard from
# package-lock.json), go, cfn-lint, and the function binaries from
# `make lambda`.
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

guard_pkg=node_modules/@cdklabs/cdk-validator-cfnguard
if [[ ! -x node_modules/.bin/cdk || ! -d $guard_pkg ]]; then
  npm ci --no-audit --no-fund
fi
case "$(uname -s)" in Linux) os=ubuntu ;; Darwin) os=macos ;; *) echo "check-synth: no cfn-guard build for $(uname -s)" >&2; exit 1 ;; esac
case "$(uname -m)" in x86_64|amd64) arch=x86_64 ;; aarch64|arm64) arch=aarch64 ;; *) echo "check-synth: no cfn-guard build for $(uname -m)" >&2; exit 1 ;; esac
guard="$guard_pkg/bin/$os/$arch/cfn-guard"
guard_rules="$guard_pkg/rules/control-tower/cfn-guard"
for fn in ingest grafana; do
  if [[ ! -f build/lambda/$fn/bootstrap ]]; then
    echo "check-synth: build/lambda/$fn/bootstrap is missing: run 'make lambda' first" >&2
    exit 1
  fi
done

all=()
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
  all+=("${templates[@]}")
done
# The role each source account deploys for tags.role_arn (not synthesized:
# a plain template for StackSets).
all+=("$root/infra/source-account/tags-role.template.json")
echo "== cfn-lint and cfn-guard $("$guard" --version | cut -d' ' -f2) (Control Tower rules) on ${#all[@]} templates of: $envs, source-account"
go run ./infra/templatecheck -guard "$guard" -rules "$guard_rules" -cfn-lint cfn-lint -- "${all[@]}"
