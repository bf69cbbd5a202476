"""`python -m bot` / `slack-analyst`: load `.env`, set up logging, run.

slack-analyst            run the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)
slack-analyst migrate    apply database migrations and exit
slack-analyst ask --file data.csv "question"   analyse in the terminal (OPENAI_API_KEY only)
slack-analyst usage [--since 30d] [--by user|channel|workspace] [--csv]
                         what turns cost, from the database (DATABASE_URL only)
slack-analyst cleanup [--dry-run]   delete data idle for ANALYST_RETENTION_DAYS now, and say what
slack-analyst doctor     check the settings against Slack, OpenAI and the database; say what is
                         wrong (exit status 1 if anything is)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from dotenv import load_dotenv

from bot.errors import ConfigError
from bot.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slack-analyst", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the Slack bot (default)")
    commands.add_parser("migrate", help="apply database migrations and exit")
    ask = commands.add_parser("ask", help="analyse files in the terminal")
    ask.add_argument("--file", action="append", default=[], help="a data file (repeatable)")
    ask.add_argument("question", nargs="?", default="", help="the first question")
    usage = commands.add_parser("usage", help="print what turns cost (DATABASE_URL only)")
    usage.add_argument("--since", default="30d", help="30d, 12h, 2w or a date (default 30d)")
    usage.add_argument(
        "--by", choices=("user", "channel", "workspace"), default="workspace", help="grouping"
    )
    usage.add_argument("--csv", action="store_true", help="CSV instead of a table")
    cleanup = commands.add_parser(
        "cleanup", help="delete what is past ANALYST_RETENTION_DAYS now, and print it"
    )
    cleanup.add_argument(
        "--dry-run", action="store_true", help="print what would be deleted; delete nothing"
    )
    commands.add_parser(
        "doctor", help="check the configuration against Slack, OpenAI and the database"
    )
    return parser


def cli(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    load_dotenv()
    if args.command == "doctor":  # reports bad settings itself, with everything else
        from bot.doctor import doctor

        return asyncio.run(doctor(os.environ, out=sys.stdout))
    if args.command == "usage":  # reads the database only: no Slack or OpenAI settings
        from bot.usage_report import report

        return report(
            os.environ,
            since=args.since,
            by=args.by,
            as_csv=args.csv,
            out=sys.stdout,
            err=sys.stderr,
        )
    try:
        # Neither needs Slack: `ask` runs in the terminal, `cleanup` deletes data.
        settings = Settings.from_env(os.environ, terminal=args.command in ("ask", "cleanup"))
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "ask":
        from bot.terminal import ask

        return asyncio.run(ask(settings, files=args.file, question=args.question))
    if args.command == "cleanup":
        from bot.cleanup import cleanup

        return asyncio.run(cleanup(settings, dry_run=args.dry_run))
    if args.command == "migrate":
        from store.database import open_database

        async def migrate() -> None:
            engine = await open_database(settings.database_url)
            await engine.dispose()

        asyncio.run(migrate())
        return 0
    from bot.serving import serve

    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
