"""Property tests of the money and reservation arithmetic (no database)."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from catalog.domain.ledger import Entry, amount_to_return, cents, refundable, store_credit_bonus
from catalog.domain.reservations import OpenLine, allocate_in_order, pick_line, queue_position, within_cap
from catalog.domain.statuses import LedgerKind as K

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
kinds = st.sampled_from([K.REFUND, K.STORE_CREDIT, K.REFUND_PENDING, K.REFUND_APPROVED, K.REFUND_REJECTED])


@given(st.lists(money, min_size=1, max_size=4), st.lists(st.tuples(kinds, money), max_size=20))
def test_granting_only_what_refundable_allows_never_exceeds_payments(payments, requests):
    entries = [Entry(K.PAYMENT, p) for p in payments]
    paid = sum(payments)
    undecided: list[Decimal] = []  # each pending refund is approved or rejected once (one ticket each)
    for kind, amount in requests:
        if kind in (K.REFUND_APPROVED, K.REFUND_REJECTED):
            if undecided:
                entries.append(Entry(kind, undecided.pop()))
            continue
        grant = min(amount, refundable(entries))
        if grant > 0:
            entries.append(Entry(kind, grant))
            if kind is K.REFUND_PENDING:
                undecided.append(grant)
        left = refundable(entries)
        out = sum(e.amount for e in entries if e.kind in (K.REFUND, K.STORE_CREDIT, K.REFUND_PENDING))
        assert Decimal("0") <= left <= paid
        assert out - sum(e.amount for e in entries if e.kind is K.REFUND_REJECTED) <= paid


@given(st.dictionaries(st.integers(1, 5), money, min_size=1), st.lists(st.tuples(st.integers(1, 5), money), max_size=10),
       money)
def test_amount_to_return_is_capped_by_lines_and_order(lines, earlier, order_left):
    entries = [Entry(K.REFUND, a, lid) for lid, a in earlier]
    amount = amount_to_return(lines, entries, order_left)
    assert Decimal("0") <= amount <= min(sum(lines.values()), order_left)
    assert amount == cents(amount)


@given(money, st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2))
def test_bonus_rounds_half_up_to_cents(base, percent):
    bonus = store_credit_bonus(base, percent)
    exact = base * percent / 100
    assert bonus == cents(bonus) and abs(bonus - exact) <= Decimal("0.005")


def test_bonus_half_cent_rounds_up():
    assert store_credit_bonus(Decimal("10.05"), Decimal("10")) == Decimal("1.01")


@given(st.lists(st.tuples(st.integers(1, 10**6), st.integers(1, 50)), unique_by=lambda t: t[0], max_size=30),
       st.integers(-5, 500))
def test_allocation_never_gives_more_than_arrived_or_asked_and_is_first_come(waiting, units):
    given_ = allocate_in_order(waiting, units)
    asked = dict(waiting)
    assert sum(t for _, t in given_) <= max(0, units)
    assert all(0 < t <= asked[rid] for rid, t in given_)
    served = [rid for rid, _ in given_]
    assert served == sorted(asked)[:len(served)]  # nobody is skipped
    assert all(t == asked[rid] for rid, t in given_[:-1])  # only the last one may be partial
    assert sum(t for _, t in given_) == min(max(0, units), sum(asked.values()))


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), min_size=1, max_size=6), st.integers(1, 50))
def test_picked_line_always_has_room(raw, qty):
    lines = [OpenLine(i, 1, None, arrive, min(promised, arrive)) for i, (arrive, promised) in enumerate(raw)]
    line = pick_line(lines, qty)
    assert (line is None) == all(c.free < qty for c in lines)
    if line is not None:
        assert line.promised + qty <= line.still_to_arrive


@given(st.one_of(st.none(), st.integers(1, 20)), st.integers(0, 30), st.integers(1, 30))
def test_cap(cap, already, qty):
    assert within_cap(cap, already, qty) == (cap is None or already + qty <= cap)


@given(st.lists(st.integers(1, 1000), unique=True, min_size=1))
def test_queue_position_is_one_based_rank(ids):
    ids = sorted(ids)
    assert [queue_position(ids, i) for i in ids] == list(range(1, len(ids) + 1))
