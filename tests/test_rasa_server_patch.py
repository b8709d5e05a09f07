"""bot/rasa_server.py changes Rasa in a few places; each is checked in Rasa's own environment."""
from __future__ import annotations

import json
import subprocess

from catalog.wording.errors import ACTION_SERVER_DOWN
from tests.conftest import ROOT

SCRIPT = """
import asyncio, sys
sys.path.insert(0, '.')
from bot import rasa_server
rasa_server.install()
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

action = RemoteAction("action_answer_stock", EndpointConfig("http://127.0.0.1:9/webhook"))
assert action._validate_action_result({"events": [], "responses": [{"text": "hi"}]})
try:
    action._validate_action_result({"events": "not a list"})
    raise SystemExit("invalid response accepted")
except ValidationError:
    pass
tracker = DialogueStateTracker("shopper", [])
events = asyncio.run(action.run(None, None, tracker, Domain.empty()))
print(events[0].text)
"""


def test_unreachable_action_server_becomes_an_apology_and_responses_are_still_validated():
    result = subprocess.run([str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", SCRIPT], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ACTION_SERVER_DOWN


SOCKET_SCRIPT = """
import asyncio, json, sys
sys.path.insert(0, '.')
from bot import rasa_server
rasa_server.install()
from rasa.core.channels.socketio import SocketIOOutput
from rasa.shared.core.events import BotUttered

class Sio:
    sent = []
    async def emit(self, event, data=None, room=None, **kwargs):
        self.sent.append([event, data, room] + ([kwargs] if kwargs else []))

sio = Sio()
event = BotUttered("Out of stock.", {"custom": {"type": "product", "sku": "TR-1"}},
                   {"kind": "restock_alert", "model_id": "m"}, timestamp=12.5)
asyncio.run(SocketIOOutput(sio, "bot_uttered").send_response("abc", event.message()))
print(json.dumps(sio.sent))
"""


def test_socket_io_output_sends_cards_whole_with_the_time():
    result = subprocess.run([str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", SOCKET_SCRIPT], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    sent = json.loads(result.stdout.strip().splitlines()[-1])
    assert sent == [
        ["bot_uttered", {"text": "Out of stock.", "timestamp": 12.5, "kind": "restock_alert"}, "abc"],
        ["bot_uttered", {"custom": {"type": "product", "sku": "TR-1"}, "timestamp": 12.5, "kind": "restock_alert"}, "abc"],
    ]
