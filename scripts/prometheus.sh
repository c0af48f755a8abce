#!/usr/bin/env bash
# The local Prometheus for `make run` / `make stop`: the stand-in for Amazon
# Managed Service for Prometheus, receiving remote writes on 127.0.0.1.
#
#   scripts/prometheus.sh start    install if missing, start (or reuse), wait until ready
#   scripts/prometheus.sh stop     stop the one this script started (idempotent)
#   scripts/prometheus.sh status   what runs on the port; exit 0 when usable
#
# Environment:
#   PROM_PORT         port on 127.0.0.1 (default 9090)
#   PROM_OOO_WINDOW   storage.tsdb.out_of_order_time_window (default 3650d)
#
# Everything lives in .prometheus/ in the checkout (git-ignored): data/,
# prometheus.yml (generated at each start), prometheus.log, prometheus.pid.
#
# Why a 10-year out-of-order window: `make run` feeds recorded payloads and
# replays, in whatever order a person runs them, into a store that keeps its
# data between runs. Prometheus 2.42 without a window refuses a sample older
# than (newest sample in the store - 1h) and refuses an identical re-sent
# sample unless it is its series' last one, so running an older file after a
# newer one, or the same file twice, would fail with 400s. With the window,
# any order is accepted and a re-run is a no-op. Beyond the window Prometheus
# answers 500 ("too old sample"), which a client retries: so the window is
# wide rather than tight. The end-to-end tests (internal/promtest) run
# without a window by default, as strict as the store they stand in for.
# Retention is 100y because Prometheus measures it between blocks, not from
# the wall clock: with 15d, data from 2022 beside data from 2023 is deleted.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.prometheus"
port="${PROM_PORT:-9090}"
window="${PROM_OOO_WINDOW:-3650d}"
addr="127.0.0.1:$port"
url="http://$addr"
pidfile="$dir/prometheus.pid"
logfile="$dir/prometheus.log"
config="$dir/prometheus.yml"
ready_timeout=30

say() { printf 'prometheus.sh: %s\n' "$*"; }
die() { printf 'prometheus.sh: %s\n' "$*" >&2; exit 1; }

[[ "$port" =~ ^[0-9]+$ ]] || die "PROM_PORT=$port is not a port number"

# ready: 0 when something answers 200 on /-/ready.
ready() { curl -fsS -m 2 -o /dev/null "$url/-/ready" 2>/dev/null; }

# listening: 0 when something accepts connections on the port.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# receiver_status: the HTTP status of an empty remote-write request (one
# snappy byte, 0x00: an empty WriteRequest). 204 (or 400) means the receiver
# is on; 404 means Prometheus runs without --web.enable-remote-write-receiver.
receiver_status() {
	printf '\0' | curl -sS -m 5 -o /dev/null -w '%{http_code}' -X POST \
		-H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: snappy' \
		-H 'X-Prometheus-Remote-Write-Version: 0.1.0' --data-binary @- \
		"$url/api/v1/write" 2>/dev/null || true
}

has_receiver() {
	local code
	code="$(receiver_status)"
	[[ "$code" == 204 || "$code" == 400 ]]
}

# our_pid: prints the pid from the pid file when that process is alive and is
# a prometheus using our data directory (a stale file's pid may be reused).
our_pid() {
	local pid
	[[ -f "$pidfile" ]] || return 1
	pid="$(<"$pidfile")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--storage.tsdb.path=$dir/data" || return 1
	printf '%s\n' "$pid"
}

log_tail() {
	if [[ -f "$logfile" ]]; then
		echo "--- last lines of $logfile ---" >&2
		tail -n 30 "$logfile" >&2
	fi
}

ensure_installed() {
	if command -v prometheus >/dev/null 2>&1; then
		return
	fi
	if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
		say "prometheus is missing; installing Debian's package"
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus
		command -v prometheus >/dev/null 2>&1 || die "apt-get installed prometheus but it is not on PATH"
		return
	fi
	die "prometheus is not installed. Install Prometheus 2.42 or later, e.g. on Debian/Ubuntu:
    sudo apt-get update && sudo apt-get install -y prometheus
or put a prometheus binary (https://prometheus.io/download/) on PATH, then run this again."
}

# stop_distro_service: Debian's package starts its own Prometheus (on :9090,
# without the remote-write receiver) when it is installed where services run.
# Stop it when it is what holds our port; leave anything else alone.
stop_distro_service() {
	[[ "$(id -u)" == 0 ]] || return 1
	if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1 &&
		systemctl is-active --quiet prometheus 2>/dev/null; then
		say "stopping Debian's prometheus service (systemctl stop prometheus): it holds $addr without the remote-write receiver"
		systemctl stop prometheus
	elif [[ -x /etc/init.d/prometheus ]] && command -v service >/dev/null 2>&1 &&
		service prometheus status >/dev/null 2>&1; then
		say "stopping Debian's prometheus service (service prometheus stop): it holds $addr without the remote-write receiver"
		service prometheus stop
	else
		return 1
	fi
	local i
	for ((i = 0; i < 50; i++)); do
		listening || return 0
		sleep 0.2
	done
	return 1
}

write_config() {
	cat >"$config" <<EOF
# Generated by scripts/prometheus.sh at each start; edits are lost.
# No scrape jobs: the store holds only what cwstream remote-writes.
global:
  scrape_interval: 1m
  evaluation_interval: 1m
storage:
  tsdb:
    out_of_order_time_window: $window
EOF
}

wait_ready() {
	local pid="$1" i
	for ((i = 0; i < ready_timeout * 5; i++)); do
		if ready; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$pidfile"
			log_tail
			die "prometheus (pid $pid) exited before it was ready"
		fi
		sleep 0.2
	done
	log_tail
	die "prometheus (pid $pid) not ready at $url/-/ready after ${ready_timeout}s (still running; 'scripts/prometheus.sh stop' stops it)"
}

cmd_start() {
	local pid code
	ensure_installed
	mkdir -p "$dir/data"

	if pid="$(our_pid)"; then
		if ready; then
			say "reusing the Prometheus this script started (pid $pid) at $url"
			return 0
		fi
		say "waiting for the Prometheus this script started (pid $pid)"
		wait_ready "$pid"
		say "ready at $url (pid $pid)"
		return 0
	fi
	rm -f "$pidfile"

	if listening; then
		code="$(receiver_status)"
		if ready && [[ "$code" == 204 || "$code" == 400 ]]; then
			say "reusing the Prometheus already running at $url (not started by this script: 'stop' leaves it running; its remote-write receiver answers $code)"
			return 0
		fi
		if ! stop_distro_service; then
			[[ "$code" == 000 || -z "$code" ]] && code="no HTTP answer"
			die "$addr is taken by something that is not a Prometheus with the remote-write receiver (/api/v1/write: $code).
If it is Debian's prometheus service: systemctl stop prometheus (or: service prometheus stop).
Otherwise stop it, or choose another port: PROM_PORT=9091 $0 start"
		fi
	fi

	write_config
	: >>"$logfile"
	printf '\n=== %s: start on %s ===\n' "$(date -u +%FT%TZ)" "$addr" >>"$logfile"
	# setsid: a Ctrl-C in the terminal that ran `make run` does not reach it.
	setsid nohup prometheus \
		--config.file="$config" \
		--storage.tsdb.path="$dir/data" \
		--storage.tsdb.retention.time=100y \
		--web.listen-address="$addr" \
		--web.enable-remote-write-receiver \
		--query.max-samples=200000000 \
		</dev/null >>"$logfile" 2>&1 &
	pid=$!
	echo "$pid" >"$pidfile"
	wait_ready "$pid"
	say "started (pid $pid): $url, remote write $url/api/v1/write, log $logfile"
}

cmd_stop() {
	local pid i
	if ! pid="$(our_pid)"; then
		rm -f "$pidfile"
		say "not running (nothing this script started)"
		return 0
	fi
	kill -TERM "$pid"
	for ((i = 0; i < 150; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$pidfile"
			say "stopped (pid $pid)"
			return 0
		fi
		sleep 0.2
	done
	say "pid $pid still running 30s after SIGTERM; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidfile"
}

cmd_status() {
	local pid code
	if pid="$(our_pid)"; then
		if ready; then
			say "running (pid $pid, started by this script) at $url, remote write $url/api/v1/write"
			return 0
		fi
		say "started by this script (pid $pid) but not ready at $url"
		return 1
	fi
	if listening; then
		code="$(receiver_status)"
		if ready && [[ "$code" == 204 || "$code" == 400 ]]; then
			say "a Prometheus not started by this script runs at $url with the remote-write receiver"
			return 0
		fi
		[[ "$code" == 000 || -z "$code" ]] && code="no HTTP answer"
		say "$addr is taken by something else (/api/v1/write: $code)"
		return 1
	fi
	say "not running (port $port free)"
	return 3
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
