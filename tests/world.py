"""A tiny shop for the reservation, alert and refund tests, built with the ORM. Its delivery
is due a fortnight after the day the tests run (tests.conftest.TODAY)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from catalog.db.orm import (
    ChannelIdentity,
    Customer,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLevel,
    Supplier,
    SupplierOffer,
    Variant,
)
from catalog.domain.statuses import OrderLineStatus, OrderStatus, PurchaseOrderStatus
from catalog.uow import UnitOfWork
from tests.conftest import TODAY

ETA = TODAY + dt.timedelta(days=15)


@dataclass
class World:
    product_id: int
    variant_id: int
    sibling_id: int
    customers: list[int]
    po_reference: str
    order_number: str
    order_email: str


def build(url: str, incoming: int = 10, customers: int = 3, on_hand: int = 0, cap: int | None = None,
          backorder: bool = True, line_prices: tuple[str, ...] = ("60.00", "45.50")) -> World:
    with UnitOfWork(url) as uow:
        s = uow.session
        supplier = Supplier(name="Fast Co", lead_time_days=14)
        product = Product(group_key="k1", title="Ridgeline Trail Runner", category="Shoes", description="")
        s.add_all([supplier, product])
        s.flush()
        v = Variant(product_id=product.id, sku="RTR-42", sku_key="RTR-42", attributes={}, color="black", size="42",
                    price=Decimal("99.90"), currency="USD", preorder_allowed=True, backorder_allowed=backorder,
                    max_per_customer=cap)
        sib = Variant(product_id=product.id, sku="RTR-43", sku_key="RTR-43", attributes={}, color="black", size="43",
                      price=Decimal("99.90"), currency="USD")
        s.add_all([v, sib])
        s.flush()
        s.add_all([StockLevel(variant_id=v.id, location_id=1, on_hand=on_hand, reserved=0, safety_stock=0),
                   StockLevel(variant_id=sib.id, location_id=1, on_hand=3, reserved=0, safety_stock=0),
                   SupplierOffer(variant_id=v.id, supplier_id=supplier.id, lead_time_days=14, is_primary=True)])
        po = PurchaseOrder(reference="PO-1001", supplier_id=supplier.id, status=PurchaseOrderStatus.OPEN)
        s.add(po)
        s.flush()
        if incoming:
            s.add(PurchaseOrderLine(purchase_order_id=po.id, variant_id=v.id, quantity=incoming, quantity_received=0,
                                    eta=ETA, status=PurchaseOrderStatus.OPEN))
        ids = []
        for i in range(customers):
            c = Customer(name=f"C{i}", email=f"c{i}@example.com")
            s.add(c)
            s.flush()
            s.add(ChannelIdentity(customer_id=c.id, channel="telegram", external_id=f"tg{i}"))
            ids.append(c.id)
        order = Order(number="SO-10001", customer_id=ids[0], email="Ann.Smith@Example.com", status=OrderStatus.OPEN,
                      currency="USD")
        order.lines = [OrderLine(variant_id=sib.id, quantity=1, unit_price=Decimal(line_prices[0]),
                                 status=OrderLineStatus.SHIPPED)]
        order.lines += [OrderLine(variant_id=v.id, quantity=2, unit_price=Decimal(p),
                                  status=OrderLineStatus.WAITING_STOCK)
                        for p in line_prices[1:]]
        s.add(order)
        uow.commit()
        return World(product.id, v.id, sib.id, ids, "PO-1001", "SO-10001", "Ann.Smith@Example.com")


def more_customers(url: str, n: int, start: int = 100) -> list[int]:
    with UnitOfWork(url) as uow:
        rows = [Customer(name=f"X{i}", email=f"x{i}@example.com") for i in range(start, start + n)]
        uow.session.add_all(rows)
        uow.session.flush()
        ids = [c.id for c in rows]
        uow.commit()
        return ids
