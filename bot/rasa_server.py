"""Start Rasa (in the Python 3.10 environment) with two fixes to custom-action calls.

1. No silent failures. Rasa 3.6 logs a custom action that fails (action server down,
   timing out, crashing) and then sends the shopper nothing at all. Here such a failure
   becomes an apology with a way forward, on every channel, because it is a bot message
   like any other.
2. No 15 ms tax per action. Rasa validates every action-server response with
   `jsonschema.validate`, which re-checks the schema itself each time; here the same
   validation runs with a validator built once.

Usage: python -m bot.rasa_server run --enable-api ...   (the same arguments as `rasa`)
"""
from __future__ import annotations

import logging
import sys

from rasa.core.actions import action as rasa_actions
from rasa.shared.core.events import BotUttered

log = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, I can't check that right now because one of our systems isn't responding. "
    "Please try again in a few minutes, or say \"talk to a person\" and our team will help you."
)

_original_run = rasa_actions.RemoteAction.run


async def _run_or_apologise(self, output_channel, nlg, tracker, domain, *args, **kwargs):
    try:
        return await _original_run(self, output_channel, nlg, tracker, domain, *args, **kwargs)
    except rasa_actions.ActionExecutionRejection:
        raise  # a form rejecting a slot is normal dialogue, not a failure
    except Exception:
        log.exception("custom action %s failed; apologising to %s", self.name(), tracker.sender_id)
        return [BotUttered(APOLOGY, metadata={"error": "action_failed", "action": self.name()})]


def _cached_validator():
    from jsonschema.validators import validator_for

    schema = rasa_actions.RemoteAction.action_response_format_spec()
    return validator_for(schema)(schema)


_VALIDATOR = None


def _validate_action_result(self, result):
    """Same checks and error message as Rasa's, without rebuilding the validator per call."""
    from jsonschema import ValidationError

    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = _cached_validator()
    try:
        _VALIDATOR.validate(result)
        return True
    except ValidationError as e:
        e.message += (". Failed to validate Action server response from API, make sure your response "
                      "from the Action endpoint is valid.")
        raise e


def install() -> None:
    rasa_actions.RemoteAction.run = _run_or_apologise
    rasa_actions.RemoteAction._validate_action_result = _validate_action_result


if __name__ == "__main__":
    install()
    from rasa.__main__ import main

    sys.argv[0] = "rasa"
    main()
