"""Issue 14's targets, each with its figure on this machine, SQLite and PostgreSQL side by side, in one table:
the digest at 1,000, 10,000 and 100,000 cases and writes while it is built (bench/databases.py), the due-work
pass at 10,000 open cases and start-up (bench/due_work.py), outbox messages a second, the 936 reminders due at
09:30 and Slack calls per interaction (bench/outbox.py), and the /escalate acknowledgement against a bare Bolt
app's (bench/slack_roundtrip.py). PostgreSQL is a throwaway server started as the tests start theirs.

    .venv/bin/python bench/targets.py            # about 15 minutes on this 2-core machine
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import databases, due_work, outbox, slack_roundtrip  # noqa: E402
from tests.databases import PostgresServer  # noqa: E402

DIGEST_SIZES = [1000, 10000, 100000]


def main() -> None:
    server = PostgresServer()
    table: list[dict] = []
    try:
        for name in ("digest", "due_work", "bench", "acks", *outbox.CALLS_DATABASES):
            server.execute(f"CREATE DATABASE {name}")
        with tempfile.TemporaryDirectory() as folder:

            def urls(name: str) -> dict[str, str]:
                return {"sqlite": f"sqlite:///{folder}/{name}.db", "postgresql": server.url(name)}

            def done(rows: list[dict]) -> None:
                table.extend(rows)
                databases.print_table(table)  # as it grows, so a long run shows what it has so far
                print(flush=True)

            digest = {kind: databases.run(url, DIGEST_SIZES) for kind, url in urls("digest").items()}
            done(databases.rows(digest, DIGEST_SIZES))
            done(due_work.measure(urls("due_work")))
            # bench/outbox.py's flows run in the databases beside "bench" named in outbox.CALLS_DATABASES.
            done(outbox.measure(urls("bench")))
            done(slack_roundtrip.measure(urls("acks")))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
