"""Unit of work: one transaction, one session, the repositories that use it.

Services take a UnitOfWork so that they never create sessions themselves and tests
can point them at any database.
"""
from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from catalog.config import database_url
from catalog.db.engine import WRITE_LOCK_OPTION, session_factory
from catalog.db.promises import PromiseRepository
from catalog.db.repository import CatalogRepository


class UnitOfWork:
    def __init__(self, url: str | None = None, factory: sessionmaker[Session] | None = None) -> None:
        self.url = url or database_url()
        self._factory = factory or session_factory(self.url)

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self.catalog = CatalogRepository(self.session)
        self.promises = PromiseRepository(self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.session.rollback()  # no-op after commit; undoes half-done work after an error
        self.session.close()

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def begin_write(self) -> None:
        """Start this transaction as a writer that decides from what it reads.

        Call first thing inside `with uow:`. On SQLite the transaction begins IMMEDIATE, so
        concurrent writers run one after another on fresh data; on PostgreSQL it is a no-op
        because services lock the rows they decide on (SELECT ... FOR UPDATE).
        """
        trans = self.session.get_transaction()
        if trans is not None and trans._connections:  # a connection (and its BEGIN) exists already
            raise RuntimeError("begin_write() must come before the first statement of the transaction")
        self.session.connection(execution_options={WRITE_LOCK_OPTION: True})

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
