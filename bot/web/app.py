"""The FastAPI application: shop pages and widget (bot/web/shop.py), console (bot/web/console/)."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.web import shop
from bot.web.console import routes as console
from bot.web.settings import WebSettings

HERE = Path(__file__).resolve().parent


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings.from_env()
    app = FastAPI(title="Stockout assistant", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.rasa = settings.rasa_api()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(shop.router)
    app.include_router(console.router)
    return app
