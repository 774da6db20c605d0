"""Command line: `flask --app webapp db|users|tokens|calls|exotel|alerts ...`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .accounts import ROLES, AccountError, create_token, create_user
from .config import get_settings
from .config.tuning import with_settings
from .db import get_db

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
users_cli = AppGroup("users", help="UI users.")
tokens_cli = AppGroup("tokens", help="API tokens.")
calls_cli = AppGroup("calls", help="Calls.")
exotel_cli = AppGroup("exotel", help="The Exotel account.")
alerts_cli = AppGroup("alerts", help="Alerts and their notifications.")


def migrations_dir() -> Path:
    """The project's migrations/: beside the package in a checkout, else in the working directory."""
    for candidate in (Path(__file__).resolve().parent.parent / "migrations", Path.cwd() / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise click.ClickException("migrations/ not found: run from the project's directory")


def alembic_config():
    """Alembic's configuration for this app's database, without an alembic.ini."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = get_settings().database_url
    return config


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str):
    """Apply migrations up to REVISION (default: all)."""
    from alembic import command

    command.upgrade(alembic_config(), revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str):
    """Undo migrations down to REVISION (default: one step; `base` for all)."""
    from alembic import command

    command.downgrade(alembic_config(), revision)
    click.echo(f"database at {revision}")


@db_cli.command("current")
def db_current():
    """Show the applied revision."""
    from alembic import command

    command.current(alembic_config())


@users_cli.command("create")
@click.argument("email")
@click.option("--password", help="Prompted for (hidden) when not given.")
@click.option("--role", type=click.Choice(ROLES), help="Default: admin for the first user, operator after.")
def users_create(email: str, password: str | None, role: str | None):
    """Add a UI user."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(get_db(), email, password, role=role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created user {user.email} ({user.role})")


@tokens_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="operator", show_default=True,
              help="What the token may do: viewer tokens only read.")
def tokens_create(name: str, role: str):
    """Print a new API token (shown once; only its hash is stored) as the last line."""
    try:
        token = create_token(get_db(), name, role=role)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"API token {name!r} ({role}) created. Store it now; it cannot be shown again:", err=True)
    click.echo(token)


@calls_cli.command("reconcile")
@click.option("--older-than", "older_than", type=click.FloatRange(min=0), default=15, show_default=True, help="Minutes since the call was created.")
def calls_reconcile(older_than: float):
    """Ask Exotel's Call Details API about calls with no final status yet."""
    from .calls.reconcile import reconcile
    from .db.clock import sync_clock
    from .exotel_access import exotel_client

    settings = get_settings()
    sync_clock(get_db().engine)  # the cutoff on the database's clock, as the workers' (db/clock.py)
    report = reconcile(get_db(), exotel_client(), older_than_minutes=older_than, tz=settings.tz,
                       never_placed_after=timedelta(minutes=settings.reconcile_never_placed_after_minutes))
    click.echo(f"{report.open_calls} open call(s) older than {older_than:g} min; asked Exotel about {report.asked}.")
    click.echo(f"{report.updated} new reconcile event(s); {len(report.settled)} call(s) now final.")
    if report.not_listed:
        click.echo(f"{len(report.not_listed)} call(s) not listed by Exotel yet (still in progress?): {', '.join(report.not_listed[:20])}")
    if report.without_sid:
        click.echo(f"{len(report.without_sid)} call(s) have no Exotel Sid and cannot be looked up:")
        for call_id, status in report.without_sid[:50]:
            click.echo(f"  {call_id} ({status})")
    if report.error:
        raise click.ClickException(report.error)


@exotel_cli.command("check")
def exotel_check() -> None:
    """Check the configured Exotel account: credentials, ExoPhone, balance, PUBLIC_BASE_URL. Exit 1 if any fails."""
    from .exotel_access.check import run_checks

    checks = run_checks(current_app._get_current_object())  # type: ignore[attr-defined]  # the app itself
    for check in checks:
        click.echo(check.line())
    if any(check.verdict == "fail" for check in checks):
        raise SystemExit(1)


@alerts_cli.command("test")
def alerts_test() -> None:
    """Send one test notification to every ALERT_URLS target; a line per target. Exit 1 if any failed."""
    from .alerts.notify import send_test

    settings = get_settings()
    if not settings.alert_urls:
        raise click.ClickException("ALERT_URLS is not set: alerts show in the UI only")
    results = send_test(settings.alert_urls, settings.public_base_url)
    for place, (name, delivered) in enumerate(results, start=1):
        click.echo(f"{place}. {name}: {'delivered' if delivered else 'NOT delivered'}")
    if not all(delivered for _name, delivered in results):
        raise SystemExit(1)


@calls_cli.command("seed")
@click.argument("count", type=click.IntRange(min=1))
@click.option("--days", type=click.IntRange(min=1), default=90, show_default=True, help="Spread the calls over this many days up to now.")
@click.option("--seed", "random_seed", type=int, help="Random seed, for repeatable data.")
def calls_seed(count: int, days: int, random_seed: int | None):
    """Add COUNT synthetic calls with their events (for demos and benchmarks)."""
    from .calls.seeding import seed

    report = seed(get_db().engine, count, days=days, seed=random_seed)
    click.echo(f"seeded {report.calls} calls and {report.events} events over {days} days")


@click.command("worker")
@click.option("--threads", type=click.IntRange(min=1, max=64), default=2, show_default=True, help="Tasks run at once.")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Run the periodic scheduler (scheduled reconciliation). Any number of workers may: one claims each run.")
@click.option("--scheduler-period", type=click.FloatRange(min=0.5), hidden=True,
              help="Seconds between checks of periodic tasks (Huey's default: 60). For tests.")
@click.option("--lock-seconds", type=click.FloatRange(min=1), hidden=True,
              help="Time to live of the reconciliation lock (default 300). For tests.")
@click.option("--dispatch-seconds", type=click.FloatRange(min=1), hidden=True,
              help="Length of one campaign dispatcher run (default 5). For tests.")
@click.option("--reconcile-seconds", type=click.FloatRange(min=1), hidden=True,
              help="The scheduled reconciliation's interval in seconds, over RECONCILE_EVERY_MINUTES (with a short "
                   "--scheduler-period). For tests.")
@click.option("--tune", "tuning", multiple=True, hidden=True, metavar="NAME=NUMBER",
              help="A tuning knob of webapp/config/tuning.py (e.g. ALERT_HOLD_MINUTES=0). For tests.")
@click.option("--webhook-tuning", hidden=True, help="WEBHOOK_* tuning as name=value,... (e.g. lease_seconds=2). For tests.")
def worker(
    threads: int, periodic: bool, scheduler_period: float | None, lock_seconds: float | None,
    dispatch_seconds: float | None, reconcile_seconds: float | None, tuning: tuple[str, ...],
    webhook_tuning: str | None,
):
    """Run the background worker: scheduled reconciliation and queued tasks, until Ctrl-C."""
    from .jobs.runner import run_worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app itself, for other threads
    if lock_seconds:
        with_settings(app, reconcile_lock_seconds=lock_seconds)
    if dispatch_seconds:
        with_settings(app, dispatch_seconds=dispatch_seconds)
    if reconcile_seconds:
        with_settings(app, reconcile_interval_seconds=reconcile_seconds)
    if tuning:
        from .config.tuning import tune

        try:
            knobs = {name: float(value) for name, _, value in (item.partition("=") for item in tuning)}
        except ValueError:
            raise click.BadParameter("give NAME=NUMBER", param_hint="--tune") from None
        app.extensions["settings"] = tune(get_settings(app), knobs)
    if webhook_tuning:
        with_settings(app, **{f"webhook_{name}": float(value) for name, value in
                              (pair.split("=", 1) for pair in webhook_tuning.split(","))})
    run_worker(app, threads=threads, periodic=periodic, scheduler_period=scheduler_period)


def register(app: Flask) -> None:
    app.cli.add_command(worker)
    for group in (db_cli, users_cli, tokens_cli, calls_cli, exotel_cli, alerts_cli):
        app.cli.add_command(group)
