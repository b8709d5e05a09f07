"""What the merchant reads when a delivery or a date cannot be booked (`catalog receive`,
`catalog set-eta`)."""
from __future__ import annotations

from catalog.services.purchasing import PurchaseProblem, PurchasingError


def problem_text(error: PurchasingError) -> str:
    ref, d = error.reference, error.details
    return {
        PurchaseProblem.NO_SUCH_ORDER: lambda: f"no purchase order with reference {ref!r}",
        PurchaseProblem.NOT_OPEN: lambda: f"purchase order {ref} is {d.get('status')}, not open",
        PurchaseProblem.NO_OPEN_LINES: lambda: f"purchase order {ref} has no open lines",
        PurchaseProblem.NOT_ON_ORDER: lambda: f"not on purchase order {ref}: {', '.join(d.get('skus', ()))}",
        PurchaseProblem.BAD_QUANTITY: lambda: f"{d.get('sku')}: the quantity must be a whole number of at least 0",
        PurchaseProblem.MORE_THAN_DUE: lambda: (f"{d.get('sku')}: {d.get('units')} units received but only "
                                                f"{d.get('left')} are still due"),
        PurchaseProblem.NOTHING_RECEIVED: lambda: "nothing to receive: every quantity was 0",
        PurchaseProblem.BAD_DATE: lambda: "the new date must be a date (YYYY-MM-DD)",
    }[error.problem]()
