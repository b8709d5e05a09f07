"""bot/rasa_server.py changes two things in Rasa; both are checked in Rasa's own environment."""
from __future__ import annotations

import subprocess

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
    assert "Sorry, I can't check that right now" in result.stdout
