"""Unit of work: one transaction, one session, the repositories that use it.

Services take a UnitOfWork so that they never create sessions themselves and tests
can point them at any database.
"""
from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from catalog.config import database_url
from catalog.db.engine import session_factory
from catalog.db.repository import CatalogRepository


class UnitOfWork:
    def __init__(self, url: str | None = None, factory: sessionmaker[Session] | None = None) -> None:
        self.url = url or database_url()
        self._factory = factory or session_factory(self.url)

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        self.catalog = CatalogRepository(self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.session.rollback()  # no-op after commit; undoes half-done work after an error
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
