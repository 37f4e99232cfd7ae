"""The `flask --app wsgi ...` operator commands (README.md)."""

import sys

import click
from flask.cli import AppGroup

from school_points.platform.extensions import db

points_cli = AppGroup("points", help="Points ledger operations.")
admin_cli = AppGroup("admin", help="Admin accounts.")


def register(app) -> None:
    """Attach every command group to the app."""
    app.cli.add_command(points_cli)
    app.cli.add_command(admin_cli)
    app.cli.add_command(seed_demo_command)
    from school_points.ops.scheduler import scheduler_command
    from school_points.ops.worker import worker_command

    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    from school_points.wechat.cli import wechat_cli

    app.cli.add_command(wechat_cli)
    from school_points.office.backup_cli import backup_cli

    app.cli.add_command(backup_cli)


@points_cli.command("check")
def points_check_command() -> None:
    """Reconcile balances against the ledger and stock against orders; non-zero exit on any difference."""
    from school_points.accounts.reconcile import find_differences

    differences = find_differences()
    for line in differences:
        click.echo(line)
    if differences:
        click.echo(f"{len(differences)} difference(s) found", err=True)
        sys.exit(1)
    click.echo("points check: ledger, balances, lots and stock all agree")


@points_cli.command("expire")
def points_expire_command() -> None:
    """Expire points whose expiry date has passed (the nightly job, run by hand)."""
    from school_points.points.expiry import expire_due

    count, points = expire_due()
    click.echo(f"expired {points} point(s) in {count} lot(s)")


@admin_cli.command("create")
@click.argument("username")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The admin's password (stored hashed): at least 10 characters, not the username. Asked for "
    "(hidden, twice) when left out, which keeps it out of the shell's history.",
)
@click.option("--campus", "campus_id", type=int, default=None, help="Confine the admin to one campus.")
def admin_create_command(username, password, campus_id) -> None:
    """Create an admin: super (all campuses) or, with --campus, a campus admin."""
    from school_points.people.admins import create_admin
    from school_points.platform.errors import DomainError

    try:
        admin = create_admin(username, password, campus_id=campus_id)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"created {admin.role} admin {admin.username} (id {admin.id})")


@click.command("seed-demo")
def seed_demo_command() -> None:
    """Load a demo school: two campuses, classes, teachers, students, goods and a demo admin.
    Refused (exit 1, nothing written) under APP_ENV=production."""
    from school_points.ops.demo import DemoRefused, seed_demo

    try:
        summary = seed_demo()
    except DemoRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    for line in summary:
        click.echo(line)
