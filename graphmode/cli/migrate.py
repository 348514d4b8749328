"""``graphmode migrate [-o OUT] [--steps N] [--force] SCRIPT|DIR [ARGS...]``: TF1 script -> proven TF2 program."""

from __future__ import annotations

import argparse
import os
import sys

_DESCRIPTION = """\
Record SCRIPT under graphmode's TF1 API, write its TF2 program (SCRIPT_tf2.py beside it,
or -o OUT), then check the program's training step in lockstep against the recording for
the first N steps, in the program's own environment (Keras 3). Exit 0 only when everything
migrated and parity holds. With a folder, migrate each of its scripts and print a table.
graphmode's options go before SCRIPT; everything after SCRIPT belongs to the script."""


def _print_migration(migration, describe_verdict, full: bool) -> None:
    print(f"graphmode migrate: {migration.script} -> {migration.output}")
    for note in migration.notes:
        print(f"  note: {note}")
    for where, reason in migration.not_migrated:
        print(f"  NOT MIGRATED {where}: {reason}")
    verdict = migration.verdict
    if full and verdict is not None and verdict.get("report"):
        # The proof's own report, worded as `graphmode parity` words it.
        print("\n".join(f"  {line}".rstrip() for line in verdict["report"].splitlines()))
    print(f"  verdict: {describe_verdict(verdict)}")
    print(f"  {migration.status}")


def _table(migrations) -> str:
    from graphmode._text import align_columns

    rows = [("script", "result", "reason")]
    for migration in migrations:
        if migration.not_migrated:
            reason = "; ".join(f"{where}: {why}" for where, why in migration.not_migrated[:2])
        elif migration.verdict and not migration.verdict["passed"]:
            reason = migration.verdict["summary"]
        else:
            reason = ""
        rows.append((os.path.basename(migration.script), migration.status, reason))
    return "\n".join(align_columns(rows))


def _run(args: argparse.Namespace) -> int:
    from graphmode.errors import MigrationError
    from graphmode.migrate.pipeline import describe_verdict, migrate_folder, migrate_script

    script_args = args.script_args[1:] if args.script_args[:1] == ["--"] else args.script_args
    try:
        if os.path.isdir(args.script):
            if args.output or script_args:
                print("graphmode migrate: error: -o and script arguments apply to one script, not a folder",
                      file=sys.stderr)
                return 2
            migrations = migrate_folder(args.script, steps=args.steps, force=args.force,
                                        timeout=args.time_limit)
            for migration in migrations:
                if migration.output:
                    _print_migration(migration, describe_verdict, full=False)
            print(_table(migrations))
            return 0 if migrations and all(m.proven for m in migrations) else 1
        migration = migrate_script(args.script, args.output, args=script_args, steps=args.steps, force=args.force,
                                   planted_epsilon=args.planted_keras_epsilon, timeout=args.time_limit)
    except MigrationError as problem:
        print(f"graphmode migrate: error: {problem}", file=sys.stderr)
        return 2
    _print_migration(migration, describe_verdict, full=True)
    return 0 if migration.proven else 1


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "migrate", help="write a TF1 script's TF2 program and prove its training step in lockstep",
        description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("script", metavar="SCRIPT|DIR", help="the TF1 script, or a folder of them")
    parser.add_argument("-o", "--output", help="the TF2 program to write (default: SCRIPT_tf2.py beside it)")
    parser.add_argument("--steps", type=int, default=100, help="training steps to record and check (default 100)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="seconds the recording and the check may each take (default: no limit); a recording "
                             "stopped by it names the run call sites it never saw")
    # A planted mistake for testing the check: Keras' default Adam epsilon (1e-7) instead of TF1's.
    parser.add_argument("--planted-keras-epsilon", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="the script's own arguments (after SCRIPT)")
    parser.set_defaults(handler=_run)
