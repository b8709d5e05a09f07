"""`python -m bot.web create-staff USERNAME`: create a staff account for the console.

The password comes from standard input with `--password-stdin` (one line, for scripts and
deployments), or is asked for twice at the terminal. Weak or empty passwords are refused.
`--reset-password` sets a new password for an existing account and ends its sessions.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from bot.web.settings import WebSettings
from catalog.config import database_url
from catalog.domain.staff import AccountProblem, normalise_username, password_problem, username_problem
from catalog.services.schema import migrate
from catalog.services.staff import AccountError, create_staff, set_password
from catalog.uow import UnitOfWork
from catalog.wording.console import ACCOUNT_PROBLEMS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.web create-staff",
        description="Create a staff account for the console (/console), or reset its password.")
    parser.add_argument("username", help="3-64 characters: lower-case letters, digits, '.', '_', '-'")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input")
    parser.add_argument("--reset-password", action="store_true",
                        help="set a new password for an existing account (its sessions end)")
    parser.add_argument("--database-url", help="overrides DATABASE_URL")
    args = parser.parse_args(argv)

    username = normalise_username(args.username)
    problem = username_problem(username)
    if problem:
        print(f"error: {ACCOUNT_PROBLEMS[problem]}", file=sys.stderr)
        return 2
    password = _read_password(args.password_stdin, username)
    if password is None:
        return 1

    url = args.database_url or database_url()
    migrate(url)  # the staff tables arrive with the schema
    try:
        if args.reset_password:
            staff = set_password(UnitOfWork(url), username, password)
            print(f"New password set for staff account {staff.username!r}; its sessions have ended.")
        else:
            staff = create_staff(UnitOfWork(url), username, password)
            port = WebSettings.from_env().port
            print(f"Created staff account {staff.username!r}. Sign in at http://127.0.0.1:{port}/console")
    except AccountError as exc:
        hint = " (use --reset-password to set a new password)" if exc.problem is AccountProblem.EXISTS else ""
        print(f"error: {ACCOUNT_PROBLEMS[exc.problem]}{hint}", file=sys.stderr)
        return 1
    return 0


def _read_password(from_stdin: bool, username: str) -> str | None:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Password for {username}: ")
        problem = password_problem(password, username)
        if problem:
            print(f"error: {ACCOUNT_PROBLEMS[problem]}", file=sys.stderr)
            return None
        if getpass.getpass("Repeat the password: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return None
    else:
        print("error: no terminal to ask for the password; pipe it in with --password-stdin", file=sys.stderr)
        return None
    problem = password_problem(password, username)
    if problem:
        print(f"error: {ACCOUNT_PROBLEMS[problem]}", file=sys.stderr)
        return None
    return password


if __name__ == "__main__":
    sys.exit(main())
