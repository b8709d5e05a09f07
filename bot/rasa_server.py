"""Start Rasa (in the Python 3.10 environment) with four fixes: two to custom-action calls
and two to the socket.io channel the website's chat widget uses.

1. No silent failures. Rasa 3.6 logs a custom action that fails (action server down,
   timing out, crashing) and then sends the shopper nothing at all. Here such a failure
   becomes an apology with a way forward, on every channel, because it is a bot message
   like any other.
2. No 15 ms tax per action. Rasa validates every action-server response with
   `jsonschema.validate`, which re-checks the schema itself each time; here the same
   validation runs with a validator built once.
3. The widget gets every message whole. Rasa's socket.io output emits a custom payload
   (a product card) as keyword arguments of `emit`, which fails, and sends no time, so a
   widget back from a dropped connection cannot tell which messages it missed. Here each
   message goes out as bot/web/messages.py describes: the card as `{"custom": ...}`, each
   event with the message's timestamp (and the alert or staff metadata it carries).
4. A browser speaks only in its own conversation. Rasa's socket.io channel takes any
   session id a client names, and takes messages for any session id, joined or not: a
   page could continue a Telegram user's conversation (and the order proof kept in it).
   Here a session id must look like the ones Rasa makes up (32 hex digits; anything else
   gets a new one), and a message counts only for a session the socket has joined.

Usage: python -m bot.rasa_server run --enable-api ...   (the same arguments as `rasa`)
"""
from __future__ import annotations

import logging
import sys

from rasa.core.actions import action as rasa_actions
from rasa.shared.core.events import BotUttered

from catalog.wording.errors import ACTION_SERVER_DOWN

log = logging.getLogger(__name__)

_original_run = rasa_actions.RemoteAction.run


async def _run_or_apologise(self, output_channel, nlg, tracker, domain, *args, **kwargs):
    try:
        return await _original_run(self, output_channel, nlg, tracker, domain, *args, **kwargs)
    except rasa_actions.ActionExecutionRejection:
        raise  # a form rejecting a slot is normal dialogue, not a failure
    except Exception:
        log.exception("custom action %s failed; apologising to %s", self.name(), tracker.sender_id)
        return [BotUttered(ACTION_SERVER_DOWN, metadata={"error": "action_failed", "action": self.name()})]


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


async def _send_socket_response(self, recipient_id, message):
    from bot.web.messages import socket_messages

    for part in socket_messages(message):
        await self.sio.emit(self.bot_message_evt, part, room=recipient_id)


def _guard_socket_sessions(original_blueprint):
    def blueprint(self, on_new_message):
        from bot.web.messages import is_widget_session

        bp = original_blueprint(self, on_new_message)
        sio, namespace = self.sio, self.namespace or "/"
        handlers = sio.handlers[namespace]
        request_session, handle_message = handlers["session_request"], handlers[self.user_message_evt]

        async def session_request(sid, data):
            data = dict(data) if isinstance(data, dict) else {}
            if not is_widget_session(data.get("session_id")):
                data["session_id"] = None  # Rasa makes up a new one
            await request_session(sid, data)

        async def user_message(sid, data):
            session = data.get("session_id") if isinstance(data, dict) else None
            if self.session_persistence and not (is_widget_session(session)
                                                 and session in sio.rooms(sid, namespace=namespace)):
                log.warning("socket.io message for a session this socket has not joined: ignored")
                return
            await handle_message(sid, data)

        sio.on("session_request", session_request, namespace=namespace)
        sio.on(self.user_message_evt, user_message, namespace=namespace)
        return bp

    return blueprint


def install() -> None:
    from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput

    rasa_actions.RemoteAction.run = _run_or_apologise
    rasa_actions.RemoteAction._validate_action_result = _validate_action_result
    SocketIOOutput.send_response = _send_socket_response
    if not getattr(SocketIOInput.blueprint, "guarded", False):
        SocketIOInput.blueprint = _guard_socket_sessions(SocketIOInput.blueprint)
        SocketIOInput.blueprint.guarded = True


if __name__ == "__main__":
    install()
    from rasa.__main__ import main

    sys.argv[0] = "rasa"
    main()
