"""`chicago-risk`: materialize windows of the graph, pin the served model, look at the live 311
dataset."""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta

from chicago_risk.config import LEAK_TYPES, Settings, chicago_today


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _materialize(args: argparse.Namespace) -> int:
    import getpass

    from chicago_risk.backfill import BackfillError, OutOfProcess, Step, default_steps, instance_status, run_steps
    from chicago_risk.instance import STORAGE_NAMES, InstanceStorageError, dagster_home, dagster_instance, storage_kind
    from chicago_risk.overrides import OverrideError, accept_tags

    try:
        tags = accept_tags(args.accept or (), args.reason, getpass.getuser())
    except OverrideError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    yesterday = chicago_today() - timedelta(days=1)
    select = tuple(name.strip() for name in args.select.split(",") if name.strip()) if args.select else None
    end = args.end or yesterday
    start = args.start or max(end - timedelta(days=settings.served_days - 1), settings.data_start)
    if start > end:
        print(f"--start {start} is after --end {end}", file=sys.stderr)
        return 2
    if start < settings.data_start:
        print(
            f"--start {start} is before the data's first day, {settings.data_start}: start later, or set "
            f"CHICAGO_RISK_DATA_START={start} (with a source that holds those days)",
            file=sys.stderr,
        )
        return 2
    # The runs' environment, then their fork server, which imports the code location while this
    # process does the same to plan: seconds saved on every command (no instance for a dry run).
    try:
        instance = None if args.dry_run else dagster_instance(settings)
    except InstanceStorageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    runner = None if instance is None else OutOfProcess()
    from chicago_risk.definitions import build_definitions

    defs = build_definitions(settings)
    steps = [Step(f"{start}..{end}", start, end, select)] if select else default_steps(defs, start, end)
    print(f"materializing from the {settings.source} source into {settings.warehouse_location}")
    if instance is not None:
        home = dagster_home(settings)
        print(f"  runs recorded in the Dagster instance {home} ({STORAGE_NAMES[storage_kind(settings, home)]})")
    for name, value in tags.items():
        print(f"  run tag {name} = {value}")
    try:
        if args.dry_run:
            # What is materialized already, without creating an instance where there is none.
            exists = (dagster_home(settings) / "dagster.yaml").exists()
            status = instance_status(dagster_instance(settings)) if exists else (lambda key, keys: False)
            run_steps(defs, steps, None, is_complete=status)
        else:
            assert instance is not None
            run_steps(defs, steps, runner, tags=tags, is_complete=instance_status(instance))
    except (BackfillError, InstanceStorageError) as error:  # the latter: a dry run's look at the instance
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the runs that were started are marked failed in the Dagster UI; "
              "re-run the same command to finish the window", file=sys.stderr)
        return 130
    return 0


def _discover_types(args: argparse.Namespace) -> int:
    from chicago_risk.sources.base import SourceUnavailableError
    from chicago_risk.sources.socrata import SocrataSource

    settings = Settings.from_env()
    source = SocrataSource(
        base_url=settings.socrata_url,
        app_token=settings.socrata_app_token.get_secret_value() if settings.socrata_app_token else None,
    )
    try:
        counts = source.discover_types(args.since)
    except SourceUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    configured = {t.sr_type for t in LEAK_TYPES}
    print(f"311 request types since {args.since} ('*' = in chicago_risk.config.LEAK_TYPES):")
    for sr_type, short_code, requests in counts.select("sr_type", "sr_short_code", "requests").iter_rows():
        print(f"{'*' if sr_type in configured else ' '} {requests:>9,}  {short_code or '':<10} {sr_type}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from chicago_risk.config.serving import ServingSettings

    serving = ServingSettings.from_env()
    host, port = args.host or serving.host, args.port or serving.port
    print(f"read API on http://{host}:{port} (docs at /docs), serving {serving.published_url}")
    # The app logs every request itself, as JSON; uvicorn's own logging config would duplicate it.
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, access_log=False, log_config=None)
    return 0


def _ui(args: argparse.Namespace) -> int:
    from chicago_risk.demo import serve
    from chicago_risk.instance import InstanceStorageError

    try:
        return serve(Settings.from_env())
    except InstanceStorageError as error:  # raised before anything starts
        print(f"error: {error}", file=sys.stderr)
        return 1


def _model(args: argparse.Namespace) -> int:
    """Pin or unpin the champion, or show the aliases."""
    import getpass

    from chicago_risk.config import MODEL_SETTINGS
    from chicago_risk.models.aliases import alias_history
    from chicago_risk.models.champion import MODEL_CHAMPION
    from chicago_risk.models.pin import PinError, pin
    from chicago_risk.models.registry import ModelNotFoundError
    from chicago_risk.storage.resources import storage_resources
    from chicago_risk.upstream import materialize_command

    warehouse = storage_resources(Settings.from_env())["warehouse"]
    today = chicago_today()
    this_week = today - timedelta(days=today.weekday())
    if args.action == "aliases":
        if warehouse.table_exists(MODEL_CHAMPION):
            week = warehouse.query(f"SELECT * FROM {MODEL_CHAMPION} ORDER BY cutoff DESC LIMIT 1").row(0, named=True)
            print(f"week {week['cutoff']}: champion {week['champion_model_id']} (since {week['champion_since']}"
                  f"{', pinned by ' + week['set_by'] if week['pinned'] else ''}), challenger "
                  f"{week['challenger_model_id'] or 'none'}: {week['decision']} ({week['reason']})")
        else:
            print(f"no week is decided yet; run: {materialize_command(['model_champion'], this_week, this_week)}")
        for row in alias_history(warehouse).tail(args.last).iter_rows(named=True):
            print(f"{row['set_at']:%Y-%m-%d %H:%M} UTC  {row['alias']:<10} = {row['model_id'] or '(none)'} from "
                  f"{row['effective_from']}, by {row['set_by']}: {row['reason']}")
        return 0
    effective_from = args.effective_from or this_week
    try:
        pin(warehouse, args.model_id if args.action == "pin" else None, effective_from, getpass.getuser(),
            args.reason or "", MODEL_SETTINGS.served_kind)
    except (PinError, ModelNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    what = f"pinned {args.model_id}" if args.action == "pin" else "unpinned the champion"
    weeks = materialize_command(["model_champion"], effective_from, max(effective_from, this_week))
    print(f"{what} from the week of {effective_from}: it takes effect when model_champion decides those weeks (the "
          f"weekly retrain does); to apply it now, run: {weeks} (under the Dagster daemon, the weeks' predictions, "
          "cost and publication follow)")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="chicago-risk", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    materialize = commands.add_parser(
        "materialize",
        help="materialize assets for a window of days (default: the last CHICAGO_RISK_SERVED_DAYS), one "
        "run per asset (a year a run for the layers of every cell and day, 900 days for features and "
        "labels); without --select, the map layers of the window with the history they need, then the "
        "newest model's backtest and card",
    )
    materialize.add_argument(
        "--start", type=_iso_date, help="first day (default: CHICAGO_RISK_SERVED_DAYS before --end)"
    )
    materialize.add_argument("--end", type=_iso_date, help="last day (default: yesterday, Chicago time)")
    materialize.add_argument(
        "--select", help="comma-separated asset names (default: the whole graph); upstream history they "
        "read comes with them"
    )
    materialize.add_argument(
        "--dry-run", action="store_true", help="print the runs (assets and partition ranges) without running them"
    )
    materialize.add_argument(
        "--accept", action="append", metavar="CHECK[@DAY..DAY]",
        help="accept a blocking check's failure on those days (default: every day) after verifying it, "
        "e.g. daily_volume_plausible@2024-06-20..2024-06-21; repeatable; needs --reason. The runs carry it "
        "as tags (chicago-risk/accept.CHECK), and the check reports passed with the override",
    )
    materialize.add_argument("--reason", help="why the accepted checks' findings are right (stored with the runs)")
    materialize.set_defaults(run=_materialize)

    discover = commands.add_parser(
        "discover-types", help="count the live dataset's requests per sr_type to confirm the leak list"
    )
    discover.add_argument(
        "--since", type=_iso_date, default=chicago_today() - timedelta(days=365), help="first day counted"
    )
    discover.set_defaults(run=_discover_types)

    model = commands.add_parser(
        "model", help="the served model's aliases: pin a champion over the promotion rule, unpin it, show them"
    )
    actions = model.add_subparsers(dest="action", required=True)
    pin = actions.add_parser("pin", help="make MODEL_ID the champion of every week from --from on, until unpinned")
    pin.add_argument("model_id", help="a stored model of the served kind (its model_id in model_registry)")
    unpin = actions.add_parser("unpin", help="give the champion back to the promotion rule from --from on")
    for action in (pin, unpin):
        action.add_argument("--reason", required=True, help="why (kept with the pin, shown beside the champion)")
        action.add_argument(
            "--from", dest="effective_from", type=_iso_date, metavar="MONDAY",
            help="the Monday of the first week it applies to (default: this week's, Chicago time)",
        )
    aliases = actions.add_parser("aliases", help="the newest week's champion and challenger, and the alias log")
    aliases.add_argument("--last", type=int, default=20, help="alias changes shown (default 20)")
    model.set_defaults(run=_model)

    serve = commands.add_parser("serve", help="serve the read API (the published layers) under uvicorn")
    serve.add_argument("--host", help="interface to listen on (default: CHICAGO_RISK_API_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: CHICAGO_RISK_API_PORT or 8000)")
    serve.set_defaults(run=_serve)

    ui = commands.add_parser(
        "ui", help="serve the Dagster UI and daemon on the instance (its embedded server up while they run), "
                   "and the read API beside them, until Ctrl-C",
    )
    ui.set_defaults(run=_ui)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
