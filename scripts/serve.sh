#!/usr/bin/env bash
# Run the action server and Rasa in the foreground; Ctrl-C (or SIGTERM) stops both.
# Honours DATABASE_URL, RASA_PORT (5005), ACTION_PORT (5055), MODEL (models/stockout.tar.gz).
set -euo pipefail
cd "$(dirname "$0")/.."
RASA_PORT=${RASA_PORT:-5005}
ACTION_PORT=${ACTION_PORT:-5055}
MODEL=${MODEL:-models/stockout.tar.gz}
BIND=${BIND:-0.0.0.0}
export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://127.0.0.1:${ACTION_PORT}/webhook}
export RASA_TELEMETRY_ENABLED=false PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# Only the Telegram bridge may post to Rasa's telegram channel: a secret shared by the two.
export TELEGRAM_BRIDGE_SECRET=${TELEGRAM_BRIDGE_SECRET:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}
export RASA_URL=${RASA_URL:-http://127.0.0.1:${RASA_PORT}}
# Rasa's HTTP API (transcripts, pause/resume) answers only with this token: the console has it.
export RASA_TOKEN=${RASA_TOKEN:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}
export WEB_PORT=${WEB_PORT:-8080}
LOG_DIR=${LOG_DIR:-var/log}
mkdir -p "$LOG_DIR"

pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

.venv/bin/python -m bot.action_server --host "$BIND" --port "$ACTION_PORT" &
pids+=($!)
# Customer messages queued in the outbox (restock alerts, delay notices) go out through the
# dispatcher; expired restock holds are released every minute so the next subscriber gets a turn,
# and products imported or edited since the last minute are (re-)embedded for substitutes (the
# action server picks up the new index file by itself).
.venv/bin/python -m catalog dispatch --exclude telegram --exclude socketio &
pids+=($!)
( while true; do
    .venv/bin/python -m catalog index --quiet >>"$LOG_DIR/index.log" 2>&1 || true
    sleep 60
    .venv/bin/python -m catalog expire-holds >/dev/null 2>&1 || true
  done ) &
pids+=($!)
.venv-rasa/bin/python -m bot.rasa_server run --enable-api --auth-token "$RASA_TOKEN" --cors "*" -i "$BIND" -p "$RASA_PORT" \
  --model "$MODEL" --endpoints endpoints.yml --credentials credentials.yml &
pids+=($!)

# The web server: the demo shop with the chat widget, and the staff console.
.venv/bin/python -m bot.web serve &
pids+=($!)
# Queued messages to website chats (alerts to a widget's session) go through Rasa's HTTP API.
.venv/bin/python -m bot.web.dispatch &
pids+=($!)

# Telegram (with a token): the bridge for chats and the sender for queued messages.
if [ -n "${TELEGRAM_BOT_TOKEN:-}" ]; then
  .venv/bin/python -m bot.telegram.bridge &
  pids+=($!)
  .venv/bin/python -m bot.telegram.dispatch &
  pids+=($!)
  telegram="Telegram bridge on (${TELEGRAM_MODE:-polling})"
else
  telegram="Telegram is off (set TELEGRAM_BOT_TOKEN to turn it on)"
fi

# Wait for both, then report once; exit when either dies so a supervisor can restart us.
for _ in $(seq 1 240); do
  if curl -fs "http://127.0.0.1:${ACTION_PORT}/health" >/dev/null 2>&1 &&
     curl -fs "http://127.0.0.1:${RASA_PORT}/status?token=${RASA_TOKEN}" >/dev/null 2>&1 &&
     curl -fs "http://127.0.0.1:${WEB_PORT}/healthz" >/dev/null 2>&1; then
    echo "ready: shop with chat widget http://127.0.0.1:${WEB_PORT}/ ; staff console http://127.0.0.1:${WEB_PORT}/console ; Rasa http://127.0.0.1:${RASA_PORT} (REST /webhooks/rest/webhook, socket.io); actions :${ACTION_PORT}; $telegram"
    break
  fi
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "a server failed to start" >&2; exit 1; }; done
  sleep 1
done
wait -n "${pids[@]}"
