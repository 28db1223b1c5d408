#!/usr/bin/env bash
# Webhook ingest under wrk, against a bare axum handler measured in the same run.
#
#   bash benches/ingest_wrk.sh            # SECS=10 CONNS=32 THREADS=2 by default
#   ONLY=sessions bash benches/ingest_wrk.sh   # only the 100k-sessions memory check
#
# Installs Debian's wrk when missing, builds the release binary and the loadgen example,
# pre-signs enough distinct events for the whole run, then drives, one after the other:
#   1. the bare axum handler (`loadgen bare`), the baseline;
#   2. `cnscd-bot serve` with workers.paused = true: verify, dedupe, fdatasync'd journal,
#      200 — what Zalo waits for ("ingest");
#   3. `cnscd-bot serve` with the whole pipeline running: every event is also processed
#      and its replies sent to a fake Zalo on the same two cores ("full pipeline").
# Then the memory and disk check: 100,000 citizens (one session each) write once to a
# fresh service; once every event is answered, it prints the RSS and the store size.
# Each target gets a 2 s warm-up with its own events, then the measured window.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-10}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --bin cnscd-bot --example loadgen
BIN=${BENCH_BIN:-target/release/cnscd-bot}  # BENCH_BIN: another build, for an A/B pair
GEN=target/release/examples/loadgen
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() {
  for _ in $(seq 1 200); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "$1 did not come up" >&2
  exit 1
}

FAKE_PORT=$(free_port)
"$GEN" fake "$FAKE_PORT" & PIDS+=($!)

start_bot() { # $1 = store dir, $2 = paused; sets PORT
  PORT=$(free_port)
  CNSCD__SERVER__BIND=127.0.0.1:$PORT CNSCD__STORE__PATH="$1" \
  CNSCD__ZALO__APP_ID=360846524940903967 CNSCD__ZALO__OA_SECRET_KEY=bench-oa-secret \
  CNSCD__ZALO__APP_SECRET=bench-app-secret CNSCD__ZALO__ACCESS_TOKEN=access-0 \
  CNSCD__ZALO__REFRESH_TOKEN=refresh-0 \
  CNSCD__ZALO__API_BASE=http://127.0.0.1:$FAKE_PORT CNSCD__ZALO__OAUTH_BASE=http://127.0.0.1:$FAKE_PORT \
  CNSCD__ZALO__SEND_RATE_PER_SEC=100000 CNSCD__WORKERS__PAUSED="$2" \
  CNSCD__DIALOGS__DIR="$PWD/dialogs" CNSCD__DIALOGS__WATCH=false RUST_LOG=error \
  CNSCD__ADMIN__TOKEN=bench-admin-token-0123456789 \
    "$BIN" serve >/dev/null 2>&1 &
  PIDS+=($!)
}

# The service's own webhook histogram (`cnscd_webhook_seconds`: verify, dedupe, fsync'd
# journal): "<answered within 5 ms> <all>" so far; nothing for the bare handler.
webhook_counts() {
  curl -fs -H "Authorization: Bearer bench-admin-token-0123456789" "http://127.0.0.1:$1/metrics" \
    | awk '/^cnscd_webhook_seconds_bucket\{le="0.005"\}/ {w=$2} /^cnscd_webhook_seconds_count/ {n=$2} END {print w+0, n+0}'
}

# $1 = name, $2 = port, $3 = bodies file for the warm-up, $4 = for the measured run
measure() {
  local url="http://127.0.0.1:$2"
  wait_up "$url/healthz"
  wrk -t"$THREADS" -c"$CONNS" -d2s -s benches/wrk/cycle.lua "$url" -- "$3" "$THREADS" >/dev/null
  local before after
  before=$(webhook_counts "$2" || true)
  wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -s benches/wrk/cycle.lua "$url" -- "$4" "$THREADS" \
    > "$WORK/$1.txt"
  after=$(webhook_counts "$2" || true)
  local rps p50 p99 errors
  rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/$1.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$WORK/$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/$1.txt")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$WORK/$1.txt" | tr '\n' ' ')
  local total
  total=$(awk '/requests in/ {print $1}' "$WORK/$1.txt")
  if [ "$1" != "bare axum handler" ] && [ "$total" -gt "$PER_PART" ]; then
    echo "warning: $1 sent $total requests, more than the $PER_PART distinct events" >&2
  fi
  printf '%-28s %10.0f req/s   p50 %8s   p99 %8s   %s\n' "$1" "$rps" "$p50" "$p99" "$errors"
  if [ "$1" != "bare axum handler" ] && [ -n "$before" ] && [ -n "$after" ]; then
    # wrk's own percentiles include its threads' delays on these same two cores; the
    # service's histogram says how long the webhook itself took.
    python3 -c "b, a = '$before'.split(), '$after'.split(); w, n = int(a[0]) - int(b[0]), int(a[1]) - int(b[1]); print(f'{\"\":28s} service side: {100 * w / max(n, 1):.2f}% of {n} webhooks answered within 5 ms (cnscd_webhook_seconds)')"
  fi
  echo "$rps" > "$WORK/$1.rps"
}

if [ "${ONLY:-}" != sessions ]; then
# Enough distinct events for 40k/s per target (above what the service takes here); the
# script warns if a run used more, since repeats would take the cheaper dedupe path.
PER_PART=$(( SECS * 40000 ))
EVENTS=$(( PER_PART * 3 ))
echo "pre-signing $EVENTS events..."
"$GEN" bodies "$EVENTS" "$WORK/bodies.txt"
split -n l/3 -d "$WORK/bodies.txt" "$WORK/part-"
rm "$WORK/bodies.txt"
# The bodies are hundreds of MB: write them out now, or the kernel's writeback of them
# competes with the service's fdatasyncs during the measured runs.
sync

echo "wrk: $THREADS threads, $CONNS connections, ${SECS} s per target (after a 2 s warm-up)"
BARE_PORT=$(free_port)
"$GEN" bare "$BARE_PORT" & PIDS+=($!)
measure "bare axum handler" "$BARE_PORT" "$WORK/part-00" "$WORK/part-01"
kill "${PIDS[-1]}"

start_bot "$WORK/store-ingest" true
measure "cnscd-bot, ingest" "$PORT" "$WORK/part-00" "$WORK/part-01"
kill "${PIDS[-1]}"

start_bot "$WORK/store-full" false
measure "cnscd-bot, full pipeline" "$PORT" "$WORK/part-00" "$WORK/part-02"
kill "${PIDS[-1]}"

bare=$(cat "$WORK/bare axum handler.rps")
for name in "cnscd-bot, ingest" "cnscd-bot, full pipeline"; do
  ours=$(cat "$WORK/$name.rps")
  python3 -c "print(f'$name: {float($ours)/float($bare):.2f}x the bare handler (target for ingest: >= 0.35x, p99 <= 5 ms)')"
done
fi

# 100,000 sessions: one message from each of 100,000 users, then wait until all answered.
SESSIONS=${SESSIONS:-100000}
"$GEN" bodies "$SESSIONS" "$WORK/sessions.txt" "$SESSIONS"
sync
start_bot "$WORK/store-sessions" false
BOT_PID=${PIDS[-1]}
wait_up "http://127.0.0.1:$PORT/healthz"
# Thread slices wrap around after the last event; repeats are deduplicated, not answered.
wrk -t"$THREADS" -c"$CONNS" -d"${SESSIONS_SECS:-20}s" -s benches/wrk/cycle.lua "http://127.0.0.1:$PORT" \
  -- "$WORK/sessions.txt" "$THREADS" >/dev/null
for _ in $(seq 1 600); do
  answered=$(curl -fs -H "Authorization: Bearer bench-admin-token-0123456789" "http://127.0.0.1:$PORT/metrics" \
    | awk '/^cnscd_outbox_messages\{status="pending"\}/ {p=$2} /^cnscd_inbox_events\{status="waiting"\}/ {w=$2} END {print p+w}')
  [ "${answered:-1}" = "0" ] && break
  sleep 1
done
rss=$(awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$BOT_PID/status")
sessions_mb=$(du -sm "$WORK/store-sessions" | cut -f1)
echo "after $SESSIONS sessions (every event answered): RSS $rss MB (target <= 80 MB), store $sessions_mb MB on disk"
python3 -c "print(f'store growth: {$sessions_mb * 10000 / $SESSIONS:.1f} MB per 10k events (one session, one reply, dedupe mark each)')"
