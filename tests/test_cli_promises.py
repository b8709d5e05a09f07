"""The new commands: receive, set-eta, dispatch --once, expire-holds; bad input is explained."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from catalog.cli import main
from catalog.db.orm import OutboxMessage, Reservation
from catalog.domain.statuses import OutboxStatus
from catalog.services import reservations as res
from catalog.uow import UnitOfWork
from tests.conftest import TODAY
from tests.world import ETA, build


def test_receive_set_eta_dispatch_and_expire(sqlite_url, capsys):
    world = build(sqlite_url, incoming=10)
    res.reserve(UnitOfWork(sqlite_url), world.customers[0], "RTR-42", 2, today=TODAY)
    later = ETA + dt.timedelta(days=15)  # after the date the customer was told
    assert main(["--database-url", sqlite_url, "set-eta", "PO-1001", later.isoformat()]) == 0
    assert f"PO-1001 now due {later.isoformat()}; 1 delay notices queued" in capsys.readouterr().out
    with UnitOfWork(sqlite_url) as uow:
        assert uow.session.execute(select(Reservation.promised_eta)).scalars().all() == [later]
    assert main(["--database-url", sqlite_url, "receive", "PO-1001", "--qty", "RTR-42=3"]) == 0
    out = capsys.readouterr().out
    assert "RTR-42 x3" in out and "2 units set aside" in out
    assert main(["--database-url", sqlite_url, "dispatch", "--once"]) == 0
    assert "dispatched 1 messages" in capsys.readouterr().out
    with UnitOfWork(sqlite_url) as uow:
        assert uow.session.execute(select(OutboxMessage.status)).scalars().all() == [OutboxStatus.SENT]
    assert main(["--database-url", sqlite_url, "expire-holds"]) == 0
    assert "expired 0 holds" in capsys.readouterr().out


def test_bad_input_gets_a_clear_message_and_exit_code(sqlite_url, capsys):
    build(sqlite_url)
    assert main(["--database-url", sqlite_url, "receive", "PO-404"]) == 1
    assert "no purchase order" in capsys.readouterr().err
    assert main(["--database-url", sqlite_url, "receive", "PO-1001", "--qty", "lots"]) == 2
    assert "whole number" in capsys.readouterr().err
    assert main(["--database-url", sqlite_url, "receive", "PO-1001", "--qty", "RTR-42=99"]) == 1
    assert "only 10 are still due" in capsys.readouterr().err
    assert main(["--database-url", sqlite_url, "receive", "PO-1001", "--qty", "NOPE=1"]) == 1
    assert "not on purchase order" in capsys.readouterr().err
    assert main(["--database-url", sqlite_url, "set-eta", "PO-1001", "2026-02-30"]) == 2
    assert "not a date" in capsys.readouterr().err
