"""Process-wide services for the action server, created once and shared by all actions.

Loading the embedding model and indexing the catalog take seconds, so both happen when
the action server starts (`warm_up`), not on a shopper's first question.
"""
from __future__ import annotations

import logging
from functools import lru_cache

from catalog.config import database_url, index_path, semantic_search
from catalog.policy import PolicyStore, shared_store
from catalog.search.resolver import ProductResolver
from catalog.search.semantic_index import SemanticIndex
from catalog.uow import UnitOfWork

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def resolver() -> ProductResolver:
    url = database_url()
    embedder = None
    if semantic_search():
        from catalog.search.embedder import shared_embedder

        embedder = shared_embedder()
    return ProductResolver(lambda: UnitOfWork(url), embedder, SemanticIndex(index_path(url)))


def policies() -> PolicyStore:
    return shared_store()


def uow() -> UnitOfWork:
    return UnitOfWork()


def warm_up() -> None:
    """Load the model and the catalog now, and say loudly if the database needs migrating."""
    from catalog.services.schema import schema_is_current
    from catalog.services.complements import read_names
    from catalog.services.substitutes import load_index

    try:
        if not schema_is_current(database_url()):
            log.error("the database is not at the latest schema: run `python -m catalog migrate` "
                      "(make serve does this); until then stock questions get an apology")
    except Exception:
        log.exception("could not check the database schema")
    try:
        resolver().refresh(force=True)
        resolver().resolve("warm up the matchers")  # first embedding call initialises torch
    except Exception:  # the database may be down at start; questions will say so politely
        log.exception("could not load the catalog at start-up; will retry on the first question")
    try:
        log.info("substitutes index: %d products", len(load_index(database_url())))
    except Exception:
        log.exception("could not load the substitutes index; it is read again on the first question")
    try:
        log.info("goes-with names: %d words", read_names(uow()))
    except Exception:
        log.exception("could not read the catalog's names for goes-with; they are read on the first reservation")
