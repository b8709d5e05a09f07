"""Start Rasa (in the Python 3.10 environment) with one fix: no silent failures.

Rasa 3.6 logs a custom action that fails (action server down, timing out, crashing)
and then sends the shopper nothing at all. Here such a failure becomes an apology with
a way forward, on every channel, because it is a bot message like any other.

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


def install() -> None:
    rasa_actions.RemoteAction.run = _run_or_apologise


if __name__ == "__main__":
    install()
    from rasa.__main__ import main

    sys.argv[0] = "rasa"
    main()
