"""`flask --app wsgi backup create|verify|restore` (docs/BACKUPS.md): messages, never tracebacks."""

import sys

import click
from flask.cli import AppGroup

from school_points.office.backup_format import BackupError

backup_cli = AppGroup("backup", help="Database backups: create, verify, restore (docs/BACKUPS.md).")


@backup_cli.command("create")
@click.argument("path", required=False)
def backup_create_command(path) -> None:
    """Write one consistent backup file: PATH, or a new timestamped file in PATH (a folder) or BACKUP_DIR."""
    from school_points.office.backups import create_backup

    written, manifest = _guarded(create_backup, path)
    totals = manifest["totals"]
    click.echo(f"backup written: {written}")
    click.echo(
        f"{manifest['engine']}, schema {manifest['schema_revision'] or 'not stamped'}, "
        f"{sum(manifest['tables'].values())} rows in {len(manifest['tables'])} tables, "
        f"balances {totals.get('balance_sum')}, ledger {totals.get('ledger_delta_sum')}, "
        f"stock {totals.get('goods_stock_sum')}, {manifest['payload']['size']} bytes of payload"
    )


@backup_cli.command("verify")
@click.argument("path")
def backup_verify_command(path) -> None:
    """Check a backup file: structure, manifest, checksums, and that its payload is readable."""
    from school_points.office.backups import checked_backup

    def verify():
        with checked_backup(path) as opened:
            return opened.manifest

    manifest = _guarded(verify)
    click.echo(
        f"{path}: OK ({manifest['engine']} backup of {manifest['created_at']}, "
        f"schema {manifest['schema_revision'] or 'not stamped'}, {len(manifest['tables'])} tables)"
    )


@backup_cli.command("restore")
@click.argument("path")
@click.option("--database-url", required=True, help="The EMPTY database to restore into (same engine as the backup).")
def backup_restore_command(path, database_url) -> None:
    """Restore a backup into an empty database, then compare it with the manifest and run `points check` there."""
    from school_points.office.backups import redact, restore_backup

    report = _guarded(restore_backup, path, database_url)
    for line in report.figure_differences:
        click.echo(f"differs from the manifest: {line}")
    for line in report.check_differences:
        click.echo(f"points check: {line}")
    if not report.clean:
        click.echo(
            f"restore of {path} into {redact(database_url)} does NOT match the backup: "
            f"{len(report.figure_differences)} figure(s) differ, {len(report.check_differences)} check line(s)",
            err=True,
        )
        sys.exit(1)
    totals = report.manifest["totals"]
    click.echo(
        f"restored {path} into {redact(database_url)}: row counts, balances ({totals.get('balance_sum')}), "
        f"ledger ({totals.get('ledger_delta_sum')}) and stock ({totals.get('goods_stock_sum')}) match the manifest; "
        "points check clean"
    )


def _guarded(fn, *args):
    """Run fn; a BackupError or an OS error becomes a one-line message and exit status 1."""
    try:
        return fn(*args)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")) from None
