"""``kneegrade-api`` (or ``python -m kneegrade_api``): serve the API with uvicorn, or check its
storage (``kneegrade-api doctor``), or purge deleted predictions (``kneegrade-api purge``)."""

import argparse

import uvicorn


def _serve(args: argparse.Namespace) -> None:
    """Uvicorn with ``--workers`` processes (default ``KNEEGRADE_WORKERS``), each loading the
    models once; the database is migrated here first, before any worker starts."""
    from kneegrade_api.config import Settings
    from kneegrade_api.state import prepare

    settings = Settings()
    prepare(settings, migrate=settings.migrate_on_start)
    uvicorn.run(
        "kneegrade_api.main:app",
        host=args.host,
        port=args.port,
        server_header=False,
        workers=args.workers or settings.workers,
    )


def _migrate() -> int:
    """The pre-start step alone: migrate the database and make the signing key."""
    from kneegrade_api.config import Settings
    from kneegrade_api.state import prepare

    settings = Settings()
    prepare(settings)
    print(f"database at the newest schema: {settings.database.split('@')[-1]}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    """Report files without rows and rows without files; ``--fix`` removes the orphan files."""
    from kneegrade_api.config import Settings
    from kneegrade_api.db import create_db_engine, session_factory
    from kneegrade_api.doctor import check_storage, sweep
    from kneegrade_api.migrate import upgrade_database
    from kneegrade_api.storage import ImageStore

    settings = Settings()
    upgrade_database(settings.database)
    engine = create_db_engine(settings.database)
    store = ImageStore(settings.uploads_dir)
    with session_factory(engine)() as session:
        check = sweep if args.fix else check_storage
        report = check(session, store, args.grace)
    engine.dispose()
    verb = "removed" if args.fix else "found"
    print(f"{verb} {len(report.orphan_files)} upload files that no prediction names")
    for path in report.orphan_files:
        print(f"  {path}")
    print(f"{len(report.missing_files)} predictions name files that are missing")
    for prediction_id, path in report.missing_files:
        print(f"  prediction {prediction_id}: {path}")
    return 1 if report.missing_files or (report.orphan_files and not args.fix) else 0


def _purge(args: argparse.Namespace) -> int:
    """Remove predictions deleted more than ``--days`` ago, rows and files."""
    from kneegrade_api.config import Settings
    from kneegrade_api.db import create_db_engine, session_factory
    from kneegrade_api.migrate import upgrade_database
    from kneegrade_api.purge import purge_deleted
    from kneegrade_api.storage import ImageStore

    settings = Settings()
    upgrade_database(settings.database)
    engine = create_db_engine(settings.database)
    with session_factory(engine)() as session:
        count = purge_deleted(session, ImageStore(settings.uploads_dir), args.days)
    engine.dispose()
    print(f"purged {count} predictions deleted more than {args.days:g} days ago")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Serve on port 5011; settings come from the ``KNEEGRADE_*`` environment variables."""
    parser = argparse.ArgumentParser(
        prog="kneegrade-api",
        description="Serve the KneeGrade REST API; settings come from KNEEGRADE_* variables.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="0.0.0.0 to listen on every interface"
    )
    parser.add_argument("--port", type=int, default=5011)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes, each with its own copy of the models"
        " (default: KNEEGRADE_WORKERS, else 1)",
    )
    commands = parser.add_subparsers(dest="command")
    doctor = commands.add_parser(
        "doctor", help="check the uploads against the database (exit 1 on a problem)"
    )
    doctor.add_argument("--fix", action="store_true", help="remove the orphan files")
    doctor.add_argument(
        "--grace",
        type=float,
        default=600,
        help="seconds: younger files may belong to an upload still committing",
    )
    purge = commands.add_parser(
        "purge", help="remove deleted predictions for good, with their files"
    )
    purge.add_argument(
        "--days",
        type=float,
        default=30,
        help="only those deleted more than this many days ago (default 30; 0: all)",
    )
    commands.add_parser(
        "migrate",
        help="bring the database to the newest schema and make the signing key, then exit"
        " (the pre-start step of replicas that run with KNEEGRADE_MIGRATE_ON_START=false)",
    )
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "purge":
        return _purge(args)
    if args.command == "migrate":
        return _migrate()
    _serve(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
