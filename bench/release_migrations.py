#!/usr/bin/env python
"""The release step's migrations (``orders`` 0007-0009) on a year of data, while the counters work.

    .venv/bin/python bench/release_migrations.py                       # this tree's migrations; drops the database
    git worktree add /tmp/before <commit>                                # the migrations to compare with
    .venv/bin/python bench/release_migrations.py --before /tmp/before  # both, on the same rows

It creates the PostgreSQL database ``--database`` (``bench_release``; the name must start with "bench": its tables
are emptied), fills it as ``bench/scale_pages.py`` does (500,000 packages and 300,000 customers by default), takes
it back to ``orders`` 0006 and leaves the customers as the previous version stored them: one in ``--apostrophes``
(50) renamed with an apostrophe (O’Neil, D'Angelo), every name folded the previous version's way (apostrophes
kept). Then, for each tree (``--before`` first, then this one), it runs ``manage.py migrate orders 0007``, ``0008``
and ``0009`` in a child process as the Procfile's release step does (production settings), each timed, while a
probe thread plays the counters on its own connection every 20 ms: a returning customer's order intake (an
``UPDATE`` of a random customer), a verification (an ``UPDATE`` of a random package) and a store's list (a
``SELECT`` of a store's newest packages). Each migration's line gives its time and the probes' slowest wait. After
each tree's run the folded names are checked against ``core.text.search_fold`` and summed up (an md5 over every
customer's id and folded name: both trees must give the same), and the database goes back to 0006 with this tree's
migrations (timed: a rollback) for the next one. At the end: back to 0006 and forwards again with this tree's
migrations, and ``manage.py refold_customer_names`` (timed). Without ``--keep`` the database is dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import scale_pages

APOSTROPHE_SURNAMES = ["O’Neil", "D'Angelo", "Dell'Orto", "N’Diaye", "O'Brien", "Ma'ruf"]
STEPS = ["0007", "0008", "0009"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bench_release", help="PostgreSQL database (name starts with bench)")
    parser.add_argument("--packages", type=int, default=500_000, help="packages to fill (0.6 customers each)")
    parser.add_argument("--apostrophes", type=int, default=50, help="one customer in N gets an apostrophe")
    parser.add_argument("--before", type=Path, help="a checkout of the migrations to compare with (git worktree)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--reuse", action="store_true", help="the rows a --keep run left (no fill)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (default: drop it)")
    return parser.parse_args()


def previous_version_names(apostrophes: int) -> int:
    """Customers as the version before 0007 left them: some surnames with an apostrophe, every name folded with
    the apostrophes kept (0007's ``fold_before_0007``). Returns how many customers have an apostrophe."""
    import importlib

    from django.db import connection

    fold = importlib.import_module("orders.migrations.0007_store_code_latin_name_folded_apostrophes").fold_before_0007
    surnames = scale_pages._sql_array(APOSTROPHE_SURNAMES)
    folded = scale_pages._sql_array([fold(name) for name in APOSTROPHE_SURNAMES])
    with connection.cursor() as cursor:
        # The fill's names are "First Last" and folded alike before and after 0007 (no apostrophes in them).
        cursor.execute(
            f"""
            UPDATE orders_customer
            SET name = split_part(name, ' ', 1) || ' ' || ({surnames})[1 + (abs(hashtext(id::text)) / {apostrophes})
                                                                        % {len(APOSTROPHE_SURNAMES)}],
                name_folded = split_part(name_folded, ' ', 1) || ' '
                              || ({folded})[1 + (abs(hashtext(id::text)) / {apostrophes}) % {len(APOSTROPHE_SURNAMES)}]
            WHERE abs(hashtext(id::text)) % {apostrophes} = 0
            """
        )
        cursor.execute("SELECT count(*) FROM orders_customer WHERE name ~ '[''’]'")
        count = cursor.fetchone()[0]
        cursor.execute("VACUUM ANALYZE orders_customer")
    return count


class Probe:
    """The counters, on a connection of their own: every 20 ms one of three statements, each wait recorded."""

    def __init__(self, dsn: str):
        import psycopg

        self.connection = psycopg.connect(dsn, autocommit=True)
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT id FROM orders_customer TABLESAMPLE SYSTEM (1) LIMIT 2000")
            self.customers = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT id FROM orders_package TABLESAMPLE SYSTEM (1) LIMIT 2000")
            self.packages = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT id FROM orders_store")
            self.stores = [row[0] for row in cursor.fetchall()]
        self.waits: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        statements = [
            ("intake", "UPDATE orders_customer SET updated_at = now() WHERE id = %s", self.customers),
            ("verify", "UPDATE orders_package SET updated_at = now() WHERE id = %s", self.packages),
            (
                "list",
                "SELECT id FROM orders_package WHERE store_id = %s ORDER BY created_at DESC, id DESC LIMIT 20",
                self.stores,
            ),
        ]
        index = 0
        with self.connection.cursor() as cursor:
            while not self._stop.is_set():
                name, sql, ids = statements[index % len(statements)]
                index += 1
                started = time.perf_counter()
                cursor.execute(sql, [random.choice(ids)])
                if cursor.description:
                    cursor.fetchall()
                self.waits[name].append(time.perf_counter() - started)
                time.sleep(0.02)

    def __enter__(self):
        self.waits = {"intake": [], "verify": [], "list": []}
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        return ", ".join(
            f"{name} {len(waits)} x, median {statistics.median(waits) * 1000:.1f} ms, slowest {max(waits) * 1000:,.0f} ms"
            for name, waits in self.waits.items()
            if waits
        )


def migrate(env: dict[str, str], tree: Path, target: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [_common.PYTHON, "manage.py", "migrate", "orders", target, "--noinput", "-v", "0"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(f"migrate orders {target} in {tree} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def check_names() -> str:
    """Every folded name as search_fold gives it (read in batches); an md5 over every (id, folded name)."""
    from django.db import connection

    from core.text import search_fold

    wrong = 0
    with connection.cursor() as cursor:
        last = "00000000-0000-0000-0000-000000000000"
        while True:
            cursor.execute(
                "SELECT id, name, name_folded FROM orders_customer WHERE id > %s ORDER BY id LIMIT 20000", [last]
            )
            rows = cursor.fetchall()
            if not rows:
                break
            wrong += sum(1 for _id, name, folded in rows if search_fold(name) != folded)
            last = rows[-1][0]
        cursor.execute("SELECT md5(string_agg(id::text || ':' || name_folded, ',' ORDER BY id)) FROM orders_customer")
        digest = cursor.fetchone()[0]
    if wrong:
        sys.exit(f"{wrong} customers' folded names differ from search_fold")
    return digest


def run_tree(label: str, tree: Path, env: dict[str, str], dsn: str) -> str:
    print(f"\n{label} ({tree}):")
    idle = migrate(env, tree, "0006")
    print(f"  migrate with nothing to do (the process's start and system checks, in every line below): {idle:.1f} s")
    total = 0.0
    for target in STEPS:
        probe = Probe(dsn)
        with probe:
            seconds = migrate(env, tree, target)
        probe.connection.close()
        total += seconds
        print(f"  migrate orders {target}: {seconds:6.1f} s; counters: {probe.summary()}", flush=True)
    digest = check_names()
    print(f"  0007-0009 in {total:.1f} s; every folded name is search_fold's; md5 {digest}")
    return digest


def main() -> None:
    args = parse_args()
    if not args.database.startswith("bench"):
        sys.exit("refusing: the database name must start with 'bench' (its tables are emptied)")
    _common.ensure_database(args.database)
    dsn = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    env = _common.production_env(database_url=dsn, redis_url=args.redis_url, CONN_MAX_AGE="0")
    _common.django_setup(env)
    from django.core.management import call_command
    from django.db import connection

    here = _common.ROOT
    try:
        if not args.reuse:
            started = time.perf_counter()
            _common.migrate_and_empty(args.database)
            print(f"filling {args.database} for {args.packages:,} packages:")
            counts = scale_pages.fill(packages=args.packages, stores=300)
            print(f"filled in {time.perf_counter() - started:.0f} s: {counts['orders_customer']:,} customers")
        digests = {}
        for label, tree in [("before", args.before), ("after", here)]:
            if tree is None:
                continue
            started = time.perf_counter()
            call_command("migrate", "orders", "0006", verbosity=0, interactive=False)  # this tree's backwards
            print(f"\nback to orders 0006 with this tree's migrations: {time.perf_counter() - started:.1f} s")
            print(f"{previous_version_names(args.apostrophes):,} customers with an apostrophe, folded the old way")
            connection.close()
            digests[label] = run_tree(label, tree, env, dsn)
        if len(digests) == 2:
            same = digests["before"] == digests["after"]
            print(f"\nfolded names before and after: {'the same' if same else 'DIFFERENT'}")
        # Backwards with this tree (the names folded the old way again), then forwards again.
        started = time.perf_counter()
        call_command("migrate", "orders", "0006", verbosity=0, interactive=False)
        connection.close()
        print(f"\nback to orders 0006 (rollback): {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        call_command("migrate", "orders", verbosity=0, interactive=False)
        connection.close()
        print(f"forwards again: {time.perf_counter() - started:.1f} s; md5 {check_names()}")
        # After the rollout: what the previous version's processes folded their way meanwhile (here: nothing).
        started = time.perf_counter()
        call_command("refold_customer_names")
        print(f"refold_customer_names: {time.perf_counter() - started:.1f} s")
    finally:
        connection.close()
        if not args.keep:
            _common.drop_database(args.database)


if __name__ == "__main__":
    main()
