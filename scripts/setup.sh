#!/usr/bin/env bash
# Idempotent setup for a fresh Debian machine, run as root from anywhere: Docker daemon, Temporal CLI,
# npm dependencies, Temporal's Java test server (workflow unit tests), Prometheus (scraping the demo), Chromium (renders reports in tests).
# Each step is skipped when what it provides is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="$ROOT/.state"
TOOLS_BIN="$ROOT/.tools/bin"
TEMPORAL_VERSION="v1.5.1"
mkdir -p "$STATE"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run: $*"
  fi
}

# --- Docker -----------------------------------------------------------------------------------
docker_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if docker_answers; then
  say "docker: daemon answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
else
  if ! command -v dockerd >/dev/null 2>&1; then
    say "docker: installing docker.io, iproute2, iptables from Debian (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >"$STATE/apt.log" 2>&1 || die "apt-get update failed, see $STATE/apt.log"
    as_root apt-get install -y -qq --no-install-recommends docker.io iproute2 iptables >>"$STATE/apt.log" 2>&1 \
      || die "apt-get install docker.io failed, see $STATE/apt.log"
  fi
  if pgrep -x dockerd >/dev/null 2>&1; then
    say "docker: dockerd is running but does not answer yet; waiting"
  else
    # A daemon killed without cleanup leaves its pid file; if that pid is reused, dockerd refuses to start.
    [ -f /var/run/docker.pid ] && as_root rm -f /var/run/docker.pid
    say "docker: starting dockerd in the background (log: .state/dockerd.log)"
    # setsid: the daemon outlives this script and is not hit by a Ctrl-C aimed at it.
    as_root setsid nohup dockerd >"$STATE/dockerd.log" 2>&1 </dev/null &
    DOCKERD_PID=$!
  fi
  for _ in $(seq 1 60); do
    docker_answers && break
    if [ -n "${DOCKERD_PID:-}" ] && ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      die "dockerd exited at start; last lines of .state/dockerd.log:
$(tail -n 15 "$STATE/dockerd.log" 2>/dev/null)"
    fi
    sleep 1
  done
  docker_answers || die "docker daemon did not answer within 60 s; last lines of .state/dockerd.log:
$(tail -n 15 "$STATE/dockerd.log" 2>/dev/null)"
  say "docker: daemon answers"
fi

# --- Temporal CLI (dev server) ----------------------------------------------------------------
if [ -x "$TOOLS_BIN/temporal" ]; then
  say "temporal: $TOOLS_BIN/temporal present"
elif command -v temporal >/dev/null 2>&1; then
  say "temporal: $(command -v temporal) on PATH"
else
  command -v go >/dev/null 2>&1 || die "temporal CLI missing and no Go toolchain to build it (install golang or put 'temporal' on PATH)"
  say "temporal: building CLI $TEMPORAL_VERSION with go install (a few minutes; log: .state/temporal-build.log)"
  mkdir -p "$TOOLS_BIN"
  GOBIN="$TOOLS_BIN" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION" >"$STATE/temporal-build.log" 2>&1 \
    || die "go install temporal failed, see $STATE/temporal-build.log"
  say "temporal: installed $TOOLS_BIN/temporal"
fi

# --- npm dependencies -------------------------------------------------------------------------
command -v npm >/dev/null 2>&1 || die "npm not found (Node.js 20.18+ is required)"
STAMP="$STATE/npm-ci.stamp"
LOCK_SUM="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -d node_modules ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$LOCK_SUM" ]; then
  say "npm: node_modules matches package-lock.json"
elif [ -d node_modules ] && [ ! -f "$STAMP" ] && npm ls --depth=0 >/dev/null 2>&1; then
  # Installed before this script kept a stamp, and consistent with the lock: adopt it.
  echo "$LOCK_SUM" >"$STAMP"
  say "npm: node_modules matches package-lock.json"
else
  say "npm: npm ci (log: .state/npm-ci.log)"
  npm ci --no-audit --no-fund >"$STATE/npm-ci.log" 2>&1 || die "npm ci failed, see $STATE/npm-ci.log"
  echo "$LOCK_SUM" >"$STAMP"
  say "npm: installed"
fi

# --- Temporal's time-skipping test server (Java, for the workflow unit tests) ------------------
# From Maven Central through scripts/test-server/pom.xml, once; scripts/temporal-test-server runs it.
TS_LIB="$ROOT/.tools/test-server/lib"
TS_POM="$ROOT/scripts/test-server/pom.xml"
TS_VERSION="$(sed -n 's:.*<temporal.version>\(.*\)</temporal.version>.*:\1:p' "$TS_POM")"
if [ -f "$TS_LIB/temporal-test-server-$TS_VERSION.jar" ]; then
  say "test server: $TS_LIB has temporal-test-server $TS_VERSION"
else
  command -v java >/dev/null 2>&1 || die "test server: java not found (Java 17+ runs Temporal's test server; apt-get install openjdk-17-jdk-headless)"
  command -v mvn >/dev/null 2>&1 || die "test server: mvn not found (it fetches Temporal's test server from Maven Central; apt-get install maven)"
  say "test server: fetching temporal-test-server $TS_VERSION from Maven Central (log: .state/test-server-mvn.log)"
  rm -rf "$TS_LIB.tmp"
  mvn -B -q -f "$TS_POM" dependency:copy-dependencies -DoutputDirectory="$TS_LIB.tmp" >"$STATE/test-server-mvn.log" 2>&1 \
    || die "test server: mvn could not fetch io.temporal:temporal-test-server:$TS_VERSION, see $STATE/test-server-mvn.log"
  rm -rf "$TS_LIB" && mv "$TS_LIB.tmp" "$TS_LIB"
  rm -f "$TS_LIB/../classes.jsa"
  say "test server: installed in $TS_LIB"
fi
# scripts/test-server/KeepAliveTestServer.java starts it permitting the clients' keepalive pings (the stock
# main drops every connection after about 90 s); compiled here once, javac from a JDK 17+.
command -v javac >/dev/null 2>&1 || die "test server: javac not found (a JDK 17+ compiles scripts/test-server/KeepAliveTestServer.java; apt-get install openjdk-17-jdk-headless)"
"$ROOT/scripts/temporal-test-server" --build || die "test server: could not compile scripts/test-server/KeepAliveTestServer.java"
say "test server: KeepAliveTestServer compiled"
# A class-data archive of the server's own start halves the JVM's start (the SDK gives it 5 s, on a busy
# machine too). Optional: without it the server starts all the same.
TS_JSA="$ROOT/.tools/test-server/classes.jsa"
if [ ! -f "$TS_JSA" ]; then
  TS_PORT=$((20000 + RANDOM % 20000))
  FAULTLINE_TEST_SERVER_ARCHIVE_AT_EXIT="$TS_JSA" "$ROOT/scripts/temporal-test-server" "$TS_PORT" >"$STATE/test-server-cds.log" 2>&1 &
  TS_PID=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$TS_PORT") 2>/dev/null && break
    kill -0 "$TS_PID" 2>/dev/null || break
    sleep 0.2
  done
  kill -TERM "$TS_PID" 2>/dev/null || true
  wait "$TS_PID" 2>/dev/null || true
  if [ -f "$TS_JSA" ]; then say "test server: class-data archive $TS_JSA"
  else say "test server: warning: no class-data archive (see .state/test-server-cds.log); it starts slower"
  fi
fi

# --- Prometheus (the judge's metrics) ----------------------------------------------------------
# PROMETHEUS_URL points at a user's own server: then nothing is installed or started here.
PROM_DIR="$STATE/prometheus"
PROM_ADDR="127.0.0.1:9090"
prom_answers() { curl -fsS -m 2 "${1}/-/ready" >/dev/null 2>&1; }
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >>"$STATE/apt.log" 2>&1 || die "apt-get update failed, see $STATE/apt.log"
  as_root apt-get install -y -qq --no-install-recommends "$@" >>"$STATE/apt.log" 2>&1 \
    || die "apt-get install $* failed, see $STATE/apt.log"
}
if [ -n "${PROMETHEUS_URL:-}" ]; then
  prom_answers "$PROMETHEUS_URL" && say "prometheus: $PROMETHEUS_URL answers (PROMETHEUS_URL)" \
    || say "prometheus: warning: PROMETHEUS_URL=$PROMETHEUS_URL does not answer"
elif prom_answers "http://$PROM_ADDR"; then
  say "prometheus: http://$PROM_ADDR answers"
else
  command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
  if ! command -v prometheus >/dev/null 2>&1; then
    say "prometheus: installing Debian's prometheus (apt-get)"
    apt_install prometheus
  fi
  mkdir -p "$PROM_DIR/data"
  # The runner's own recording rules and alerts (demo/prometheus/), next to the config that names them.
  cp "$ROOT/demo/prometheus/faultline-rules.yml" "$PROM_DIR/faultline-rules.yml"
  # The demo's front and backends, found through Docker's API by their faultline.demo label (so a restarted
  # replica with a new address is followed), scraped every second: the guard ticks that often.
  cat >"$PROM_DIR/prometheus.yml" <<'YAML'
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files: [faultline-rules.yml]
scrape_configs:
  # The runner's own metrics: a worker started with FAULTLINE_METRICS=9464 (or --metrics 9464), and an agent
  # with --metrics 9465; a target nobody serves is just `up == 0`.
  - job_name: faultline-runner
    scrape_interval: 5s
    static_configs:
      - targets: ['127.0.0.1:9464', '127.0.0.1:9465']
  - job_name: faultline-demo
    scrape_interval: 1s
    scrape_timeout: 900ms
    docker_sd_configs:
      - host: unix:///var/run/docker.sock
        refresh_interval: 2s
        port: 8080
        filters:
          - name: label
            values: [faultline.demo]
    relabel_configs:
      - source_labels: [__meta_docker_container_label_faultline_role]
        regex: front|backend
        action: keep
      - source_labels: [__meta_docker_container_label_faultline_demo]
        target_label: demo
      - source_labels: [__meta_docker_container_name]
        regex: /(.*)
        target_label: container
YAML
  say "prometheus: starting on http://$PROM_ADDR (log: .state/prometheus/prometheus.log)"
  as_root setsid nohup prometheus --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
    --storage.tsdb.retention.time=2d --web.listen-address="$PROM_ADDR" >"$PROM_DIR/prometheus.log" 2>&1 </dev/null &
  PROM_PID=$!
  for _ in $(seq 1 60); do
    prom_answers "http://$PROM_ADDR" && break
    kill -0 "$PROM_PID" 2>/dev/null || die "prometheus exited at start; last lines of .state/prometheus/prometheus.log:
$(tail -n 15 "$PROM_DIR/prometheus.log" 2>/dev/null)"
    sleep 0.5
  done
  prom_answers "http://$PROM_ADDR" || die "prometheus did not answer within 30 s, see .state/prometheus/prometheus.log"
  say "prometheus: answers"
fi

# --- Chromium (headless, for the report test; never downloaded by a tool, always Debian's) -----------
if command -v chromium >/dev/null 2>&1; then
  say "chromium: $(command -v chromium) present"
else
  say "chromium: installing Debian's chromium (apt-get)"
  apt_install chromium
fi

# --- stress-ng (the stress.* fault kinds: Debian's, copied into Faultline's locally built tools image) ---
if command -v stress-ng >/dev/null 2>&1; then
  say "stress-ng: $(command -v stress-ng) present"
else
  say "stress-ng: installing Debian's stress-ng (apt-get)"
  apt_install stress-ng
fi

# --- Chaos Toolkit (PyPI, into .tools/ctk; never committed) --------------------------------------
# The peer of the crash benchmarks (bench/ctk.ts), and for the import/journal tests: Chaos Toolkit's own
# code loads the journals Faultline writes, and its own test experiments (the sdists' tests/fixtures, and the
# toxiproxy extension's documented examples) are what `faultline import ctk` is tested on. Fetched once here,
# never while the tests run. chaostoolkit-lib 1.44.0 is the newest for Python 3.11; chaostoolkit 1.16.0 is the
# newest release published as an sdist (with its tests).
CTK_VENV="$ROOT/.tools/ctk"
CTK_SRC="$ROOT/.tools/ctk-sources"
CTK_PINS="chaostoolkit-lib==1.44.0 chaostoolkit==1.16.0 chaostoolkit-toxiproxy==0.3.1"
if "$CTK_VENV/bin/python3" -c 'import chaoslib, chaostoolkit, chaostoxi, yaml' >/dev/null 2>&1; then
  say "chaos toolkit: $CTK_VENV present"
else
  if ! "$CTK_VENV/bin/python3" -c 'import sys' >/dev/null 2>&1; then
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || apt_install python3-venv
    rm -rf "$CTK_VENV"
    python3 -m venv "$CTK_VENV" >"$STATE/ctk-pip.log" 2>&1 || die "python3 -m venv failed, see $STATE/ctk-pip.log"
  fi
  say "chaos toolkit: installing chaostoolkit and its toxiproxy extension from PyPI into .tools/ctk (log: .state/ctk-pip.log)"
  "$CTK_VENV/bin/python3" -m pip install -q chaostoolkit==1.19.0 chaostoolkit-lib==1.44.0 chaostoolkit-toxiproxy==0.3.1 \
    >>"$STATE/ctk-pip.log" 2>&1 || die "pip install chaostoolkit failed, see $STATE/ctk-pip.log"
fi
if [ -f "$CTK_SRC/pins" ] && [ "$(cat "$CTK_SRC/pins")" = "$CTK_PINS" ]; then
  say "chaos toolkit: its test experiments are in $CTK_SRC"
else
  say "chaos toolkit: fetching the sdists ($CTK_PINS) for their test experiments (log: .state/ctk-pip.log)"
  rm -rf "$CTK_SRC" "$CTK_SRC.tmp" && mkdir -p "$CTK_SRC.tmp/sdist"
  # pip reads an sdist's metadata before it keeps it: wheel, setuptools_scm and pdm-backend let it do so without a build
  # environment of its own (--no-build-isolation).
  "$CTK_VENV/bin/python3" -m pip install -q wheel setuptools_scm pdm-backend >>"$STATE/ctk-pip.log" 2>&1 \
    || die "pip install wheel failed, see $STATE/ctk-pip.log"
  # shellcheck disable=SC2086
  "$CTK_VENV/bin/python3" -m pip download -q --no-deps --no-binary :all: --no-build-isolation \
    -d "$CTK_SRC.tmp/sdist" $CTK_PINS >>"$STATE/ctk-pip.log" 2>&1 \
    || die "pip download of the chaos toolkit sdists failed, see $STATE/ctk-pip.log"
  for t in "$CTK_SRC.tmp/sdist"/*.tar.gz; do tar -xzf "$t" -C "$CTK_SRC.tmp"; done
  rm -rf "$CTK_SRC.tmp/sdist"
  (cd "$CTK_SRC.tmp"/chaostoolkit_lib-*/tests && "$CTK_VENV/bin/python3" "$ROOT/scripts/ctk/dump-fixtures.py" \
    "$CTK_SRC.tmp/lib-experiments") >>"$STATE/ctk-pip.log" 2>&1 \
    || die "could not write chaostoolkit-lib's test experiments, see $STATE/ctk-pip.log"
  echo "$CTK_PINS" >"$CTK_SRC.tmp/pins"
  mv "$CTK_SRC.tmp" "$CTK_SRC"
  say "chaos toolkit: test experiments in $CTK_SRC"
fi

say "ready"
