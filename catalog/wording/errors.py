"""Apologies when something behind the assistant fails: always a way forward, never silence.

No imports: Rasa's own process (bot/rasa_server.py, another Python) reads this module too.
"""

# An action failed (the database or a service behind it).
TECHNICAL_PROBLEM = (
    "Sorry, I can't reach our stock system right now because of a technical problem. "
    "Please try again in a few minutes, or say \"talk to a person\" and our team will help you."
)
# Rasa could not reach the action server at all.
ACTION_SERVER_DOWN = (
    "Sorry, I can't check that right now because one of our systems isn't responding. "
    "Please try again in a few minutes, or say \"talk to a person\" and our team will help you."
)
# The Telegram bridge could not reach the assistant.
ASSISTANT_DOWN = (
    "Sorry, I can't answer right now because our assistant isn't responding. Please send your "
    "message again in a few minutes. If it's urgent, write \"talk to a person\" then, and our team will help."
)
