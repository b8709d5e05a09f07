#!/usr/bin/env bash
# `make run`: start the servers in the background, chat in this terminal, stop all on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RASA_PORT=${RASA_PORT:-5005}
mkdir -p var/log
scripts/serve.sh >var/log/servers.log 2>&1 &
SERVE_PID=$!
cleanup() { kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; echo "assistant stopped"; }
trap cleanup EXIT INT TERM
echo "starting the action server and Rasa (logs: var/log/servers.log) ..."
for _ in $(seq 1 240); do
  grep -q '^ready:' var/log/servers.log 2>/dev/null && break
  kill -0 "$SERVE_PID" 2>/dev/null || { echo "the servers failed to start; see var/log/servers.log" >&2; tail -20 var/log/servers.log >&2; exit 1; }
  sleep 1
done
grep '^ready:' var/log/servers.log
.venv/bin/python -m bot.terminal_chat --url "http://127.0.0.1:${RASA_PORT}/webhooks/rest/webhook"
