"""Stock questions: which product is meant, and what the database says about it now."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.base import CatalogAction
from actions.common import intent
from actions.products import ask_which, asked_about, display_name, remember
from actions.substitutes import forget_offer, offer_substitutes
from catalog.clock import today
from catalog.domain.stock import Outlook
from catalog.search.resolver import Match
from catalog.services.stock import StockReport, check_stock
from catalog.wording.stock import no_records, product_card, stock_reply

log = logging.getLogger(__name__)


def nothing_available(report: StockReport) -> bool:
    """True when every variant the shopper asked about is out now: the moment to suggest
    something else. A colour or size the product is not made in is answered with the
    options it does come in, not with other products."""
    return report.variant_exists and all(a.stock.available <= 0 for a in report.asked)


class ActionAnswerStock(CatalogAction):
    def name(self) -> str:
        return "action_answer_stock"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return self.answer(dispatcher, tracker, asking_date=intent(tracker) == "ask_restock_date")

    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, asking_date: bool) -> list[dict[str, Any]]:
        """The stock answer; `asking_date`: the shopper asked when it comes back."""
        match, color, size, variant_sku = asked_about(tracker)
        if not isinstance(match, Match):
            return ask_which(dispatcher, match)
        day = today()
        report = check_stock(runtime.uow(), match.product, day, color=color, size=size, sku=variant_sku)
        if report is None:
            dispatcher.utter_message(text=no_records(display_name(match)))
            return []
        # The card (picture, price, stock badge) travels with the words, as one bot message.
        dispatcher.utter_message(text=stock_reply(report, day, asking_date=asking_date),
                                 json_message=product_card(report, day))
        return remember(match, color, size) + self._offer(dispatcher, tracker, report, color, size)

    @staticmethod
    def _offer(dispatcher: CollectingDispatcher, tracker: Tracker, report: StockReport,
               color: str | None, size: str | None) -> list[dict[str, Any]]:
        """Substitutes after an out-of-stock answer; an in-stock answer only forgets an older offer.

        Not inside a form (the shopper is busy pre-ordering or with an order), and never at
        the cost of the stock answer: if the suggestions fail, the answer still goes out.
        """
        if not nothing_available(report) or tracker.active_loop_name:
            return forget_offer()
        if tracker.get_slot("substitute_for") == report.best.stock.sku and tracker.get_slot("offered_substitutes"):
            return []  # "when will it be back?" right after an offer: the buttons are still on screen
        try:
            # "we can get it from <supplier>" is already in the answer: no need to offer it again
            return offer_substitutes(dispatcher, report, color, size,
                                     same_item=report.best.outlook.outlook is not Outlook.OTHER_SUPPLIER)
        except Exception:
            log.exception("substitutes failed for %s in conversation %s", report.best.stock.sku, tracker.sender_id)
            return forget_offer()
