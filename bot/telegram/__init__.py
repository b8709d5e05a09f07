"""Telegram: the chat bridge (python-telegram-bot) and delivery of queued messages."""
