"""What the Telegram bridge says by itself (commands, buttons, failures)."""
from __future__ import annotations

HELP = (
    "I'm the shop's assistant. Ask me things like:\n"
    "• is the Trail Runner in stock in size 42?\n"
    "• when will it be back?\n"
    "• anything similar in stock?\n"
    "• tell me when it's back / pre-order it\n"
    "• where is my order?\n"
    "• I want to talk to a person\n\n"
    "/stop ends back-in-stock alerts. /help shows this again."
)
EXPIRED_BUTTON = "That button has expired. Please ask me again and I'll give you fresh options."
UNKNOWN_COMMAND = "I don't know that command. /help shows what I can do, or just write your question."
DIDNT_CATCH = "Sorry, I didn't catch that. Could you say it another way? /help shows examples."


def stopped(alerts_ended: int) -> str:
    what = (f"{alerts_ended} back-in-stock alert{'s' if alerts_ended != 1 else ''} stopped"
            if alerts_ended else "You had no back-in-stock alerts")
    return (f"Done. {what}; I won't send you any more. Updates about your own orders and pre-orders "
            "still come. Just write to me whenever you need something.")
