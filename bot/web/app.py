"""The FastAPI application: shop pages and widget (bot/web/shop.py), console (bot/web/console/)."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.web.settings import WebSettings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings.from_env()
    app = FastAPI(title="Stockout assistant", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    from bot.web import shop

    app.include_router(shop.router)
    try:
        from bot.web.console import routes as console
    except ImportError:  # the console lands separately
        console = None
    if console is not None:
        app.include_router(console.router)
    return app
