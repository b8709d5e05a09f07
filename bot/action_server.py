"""Run the action server in one process, with the catalog loaded before the first request.

rasa-sdk's own entry point serves through Sanic worker processes, which would load the
embedding model twice; here the actions, the model and the catalog snapshot live in
the single process that answers.
"""
from __future__ import annotations

import argparse
import os

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from bot.logs import configure as configure_logging


def main() -> None:
    parser = argparse.ArgumentParser(description="Stockout assistant action server")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTION_PORT", "5055")))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    configure_logging()

    from actions.runtime import warm_up

    executor = ActionExecutor()
    executor.register_package("actions")
    warm_up()
    app = create_app(executor)
    app.config.KEEP_ALIVE_TIMEOUT = 30
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
