"""`python -m bot.web [serve]`: the web server on WEB_PORT (8080); see bot/web/console for
`create-staff`."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else "serve"
    if command == "serve":
        import uvicorn

        from bot.web.app import create_app
        from bot.web.settings import WebSettings

        settings = WebSettings.from_env()
        uvicorn.run(create_app(settings), host=settings.bind, port=settings.port, log_level="info",
                    proxy_headers=False)
        return 0
    if command == "create-staff":
        from bot.web.console.accounts_cli import main as create_staff

        return create_staff(argv[1:])
    print(f"unknown command {command!r}: use serve or create-staff", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
