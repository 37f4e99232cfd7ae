"""Backups: one consistent file, verified before it is trusted, restored into an empty database that
then matches the backup's manifest and reconciles (docs/BACKUPS.md)."""

import json
import tarfile
import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from school_points.mall import redemption
from school_points.office import backups
from school_points.office.backup_format import BackupError
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from tests.conftest import requires_pg
from tests.school_points.office.conftest import PARENT


def facts(url):
    """What a family or the office would see in a database: balances, ledger sums, lots, stock, orders."""
    engine = create_engine(url, poolclass=NullPool)
    queries = {
        "balances": "SELECT student_id, balance, lifetime FROM points_account ORDER BY student_id",
        "ledger": "SELECT student_id, SUM(delta), COUNT(*) FROM ledger_entry GROUP BY student_id ORDER BY student_id",
        "lots": "SELECT id, remaining, points FROM points_lot ORDER BY id",
        "stock": "SELECT id, stock, stock_received FROM goods ORDER BY id",
        "orders": "SELECT id, student_id, status, total_points FROM redemption ORDER BY id",
    }
    try:
        with engine.connect() as conn:
            return {name: [tuple(row) for row in conn.execute(text(sql))] for name, sql in queries.items()}
    finally:
        engine.dispose()


def source_url():
    return db.engine.url.render_as_string(hide_password=False)


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["backup", *args])


# ------------------------------------------------------------------ the round trip


def test_a_restored_backup_has_the_same_balances_ledger_lots_and_stock(app, school, tmp_path, empty_target):
    path, manifest = backups.create_backup(tmp_path / "school.tar")
    report = backups.restore_backup(path, empty_target)
    assert report.clean, (report.figure_differences, report.check_differences)
    assert facts(empty_target) == facts(source_url())
    assert manifest["totals"]["balance_sum"] == sum(row[1] for row in facts(source_url())["balances"])


def test_the_manifest_describes_the_payload(app, school, tmp_path, is_pg):
    path, manifest = backups.create_backup(tmp_path / "school.tar")
    with tarfile.open(path) as archive:
        assert archive.getnames() == ["manifest.json", manifest["payload"]["name"], "SHA256SUMS"]
        stored = json.loads(archive.extractfile("manifest.json").read())
    assert stored == manifest
    assert manifest["engine"] == ("postgresql" if is_pg else "sqlite")
    assert manifest["format_version"] == 1 and manifest["created_at"].endswith("+00:00")
    assert manifest["tables"]["redemption"] == 6 and manifest["tables"]["points_account"] == 6
    totals = manifest["totals"]
    assert totals["balance_sum"] == totals["ledger_delta_sum"] == sum(row[1] for row in facts(source_url())["balances"])
    assert totals["goods_stock_sum"] == 100_000 + 50 - totals["live_order_units"]
    assert len(manifest["payload"]["sha256"]) == 64


def test_the_cli_round_trip_prints_what_it_did(app, school, tmp_path, empty_target):
    created = cli(app, "create", str(tmp_path))
    assert created.exit_code == 0, created.output
    path = next(tmp_path.glob("school-points-*.tar"))
    assert f"backup written: {path}" in created.output
    verified = cli(app, "verify", str(path))
    assert verified.exit_code == 0 and "OK" in verified.output
    restored = cli(app, "restore", str(path), "--database-url", empty_target)
    assert restored.exit_code == 0, restored.output
    assert "match the manifest; points check clean" in restored.output


# ------------------------------------------------------------------ consistency under load


@requires_pg
def test_a_backup_taken_while_parents_redeem_restores_one_instant(app, school, tmp_path, empty_target):
    """Redemptions commit between the moment the manifest is read and the moment pg_dump starts, and
    all the while it runs: the restored database is exactly the state of one instant, which the
    manifest describes, and every later order is absent in full (its points, its stock, its entry)."""
    students, goods = school
    student_ids, goods_id = [s.id for s in students], goods[0].id
    stop, committed, lock = threading.Event(), [0], threading.Lock()

    def redeem_until_stopped(n):
        with app.app_context():
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    redemption.redeem(
                        student_ids[(n + i) % len(student_ids)], goods_id, 1, key=f"t{n}:{i}", actor=PARENT
                    )
                    db.session.commit()
                except DomainError:
                    db.session.rollback()
                    continue
                with lock:
                    committed[0] += 1
            db.session.remove()

    def let_redemptions_commit():
        """Hold the snapshot open until a few more orders have committed in other transactions."""
        seen = committed[0]
        deadline = time.monotonic() + 60
        while committed[0] < seen + 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert committed[0] >= seen + 5, "the redeeming threads made no progress"

    threads = [threading.Thread(target=redeem_until_stopped, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        path, manifest = backups.create_backup(tmp_path / "busy.tar", on_snapshot=let_redemptions_commit)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    report = backups.restore_backup(path, empty_target)
    assert report.clean, (report.figure_differences, report.check_differences)

    restored, now = facts(empty_target), facts(source_url())
    restored_orders = set(restored["orders"])
    later = [order for order in now["orders"] if order not in restored_orders]
    assert restored_orders <= set(now["orders"]) and len(later) >= 5
    spent_later = {}
    for _, student_id, _, points in later:
        spent_later[student_id] = spent_later.get(student_id, 0) + points
    # Only redemptions ran: each balance now is the restored one less the later orders' points.
    assert [(sid, balance - spent_later.get(sid, 0)) for sid, balance, _ in restored["balances"]] == [
        (sid, balance) for sid, balance, _ in now["balances"]
    ]
    stock_restored = {gid: stock for gid, stock, _ in restored["stock"]}
    stock_now = {gid: stock for gid, stock, _ in now["stock"]}
    assert stock_restored[goods_id] - stock_now[goods_id] == len(later)  # one unit each
    assert manifest["totals"]["balance_sum"] == sum(balance for _, balance, _ in restored["balances"])


# ------------------------------------------------------------------ bad files are refused


def corrupt(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(bytes(data[: len(data) * 2 // 3]))
    elif how == "payload byte":
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    elif how == "manifest byte":
        data[data.index(b'"balance_sum"') + 16] ^= 0x01
        path.write_bytes(bytes(data))
    elif how == "trailing byte":
        data[-3] ^= 0x40
        path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how", ["truncated", "payload byte", "manifest byte", "trailing byte"])
def test_a_damaged_file_is_refused_by_verify_and_restore_without_touching_the_target(
    app, school, tmp_path, empty_target, how
):
    path, _ = backups.create_backup(tmp_path / "school.tar")
    corrupt(path, how)
    verified = cli(app, "verify", str(path))
    assert verified.exit_code == 1
    assert verified.output.startswith("Error: ") and "Traceback" not in verified.output
    assert any(word in verified.output for word in ("altered", "truncated", "damaged", "checksum"))
    restored = cli(app, "restore", str(path), "--database-url", empty_target)
    assert restored.exit_code == 1 and "Traceback" not in restored.output
    tool = backups.backup_pg if empty_target.startswith("postgres") else backups.backup_sqlite
    assert tool.non_empty_reason(empty_target) is None  # refused before touching the target


def test_a_file_that_is_not_a_backup_is_refused(app, tmp_path):
    other = tmp_path / "notes.tar"
    with tarfile.open(other, "w") as archive:
        archive.add(__file__, arcname="manifest.json")
    for path in (other, tmp_path / "missing.tar", tmp_path):
        result = cli(app, "verify", str(path))
        assert result.exit_code == 1 and result.output.startswith("Error: "), result.output
    assert "no such file" in cli(app, "verify", str(tmp_path / "missing.tar")).output
    assert "not a regular file" in cli(app, "verify", str(tmp_path)).output
    assert "not a school points backup" in cli(app, "verify", str(other)).output


# ------------------------------------------------------------------ refused targets and bad input


def test_a_target_that_already_holds_tables_is_refused(app, school, tmp_path):
    path, _ = backups.create_backup(tmp_path / "school.tar")
    before = facts(source_url())
    result = cli(app, "restore", str(path), "--database-url", source_url())
    assert result.exit_code == 1
    assert "is not empty" in result.output and "restore only into an empty database" in result.output
    assert facts(source_url()) == before


def test_a_target_of_the_other_engine_is_refused_and_its_password_never_shown(app, school, tmp_path, is_pg):
    path, _ = backups.create_backup(tmp_path / "school.tar")
    other = "sqlite:///" + str(tmp_path / "x.sqlite3") if is_pg else "postgresql://boss:s3cret-pw@127.0.0.1:1/x"
    result = cli(app, "restore", str(path), "--database-url", other)
    assert result.exit_code == 1 and "refused" in result.output
    assert "s3cret-pw" not in result.output


def test_an_unreachable_target_is_reported_without_its_password(app, school, tmp_path, is_pg):
    if not is_pg:
        pytest.skip("a PostgreSQL target needs a PostgreSQL backup")
    path, _ = backups.create_backup(tmp_path / "school.tar")
    result = cli(app, "restore", str(path), "--database-url", "postgresql://boss:s3cret-pw@127.0.0.1:1/x")
    assert result.exit_code == 1 and "cannot connect" in result.output
    assert "s3cret-pw" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("url", ["garbage", "mysql://u:p@h/db", ""])
def test_a_garbage_database_url_gets_a_message(app, school, tmp_path, url):
    path, _ = backups.create_backup(tmp_path / "school.tar")
    result = cli(app, "restore", str(path), "--database-url", url)
    assert result.exit_code == 1 and result.output.startswith("Error: "), result.output
    assert "Traceback" not in result.output


def test_restore_without_a_database_url_is_a_usage_error(app, tmp_path):
    result = cli(app, "restore", str(tmp_path / "x.tar"))
    assert result.exit_code == 2 and "--database-url" in result.output


def test_create_never_overwrites_and_names_a_missing_folder(app, school, tmp_path):
    existing = tmp_path / "keep.tar"
    existing.write_bytes(b"precious")
    result = cli(app, "create", str(existing))
    assert result.exit_code == 1 and "already exists" in result.output
    assert existing.read_bytes() == b"precious"
    result = cli(app, "create", str(tmp_path / "nowhere" / "b.tar"))
    assert result.exit_code == 1 and "does not exist" in result.output


def test_two_backups_in_one_second_get_two_names(app, school, tmp_path, frozen_now):
    frozen_now("2026-12-05T02:50:00+08:00")
    first, _ = backups.create_backup(directory=tmp_path)
    second, _ = backups.create_backup(directory=tmp_path)
    assert (first.name, second.name) == ("school-points-20261204T185000Z.tar", "school-points-20261204T185000Z-2.tar")


# ------------------------------------------------------------------ the nightly job and retention


def test_prune_keeps_the_newest_backups_it_made_and_nothing_else(app, school, tmp_path, frozen_now):
    made = []
    for day in range(1, 6):
        frozen_now(f"2026-12-0{day}T03:00:00+08:00")
        made.append(backups.create_backup(directory=tmp_path)[0])
    lookalike = tmp_path / "school-points-20200101T000000Z.tar"
    lookalike.write_bytes(b"not ours")
    (tmp_path / "notes.txt").write_text("mine")
    removed = backups.prune(tmp_path, 2)
    assert removed == made[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [made[3].name, made[4].name, lookalike.name, "notes.txt"]
    )


def test_the_nightly_job_backs_up_once_a_school_day_and_keeps_backup_keep(
    app, school, tmp_path, frozen_now, monkeypatch
):
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(tmp_path / "nightly"))
    monkeypatch.setitem(app.config, "BACKUP_KEEP", 2)
    frozen_now("2026-12-05T01:50:00+08:00")
    assert backups.nightly_backup() is None  # before 02:00 school time
    made = []
    for day in (5, 6, 7):
        frozen_now(f"2026-12-0{day}T02:50:00+08:00")
        made.append(backups.nightly_backup())
        frozen_now(f"2026-12-0{day}T03:50:00+08:00")
        assert backups.nightly_backup() is None  # already made today
    assert all(made)
    assert sorted(p.name for p in (tmp_path / "nightly").iterdir()) == sorted(p.rsplit("/", 1)[1] for p in made[1:])
    with backups.checked_backup(made[-1]) as opened:
        assert opened.manifest["tables"]["redemption"] == 6


def test_backup_error_is_what_callers_catch():
    with pytest.raises(BackupError, match="not a database URL"):
        backups.engine_of("garbage")


def test_backup_settings_default_under_instance_and_refuse_a_keep_below_one(tmp_path, monkeypatch):
    from school_points.platform.config import ConfigError, load_config

    monkeypatch.delenv("BACKUP_DIR", raising=False)
    monkeypatch.delenv("BACKUP_KEEP", raising=False)
    config = load_config(tmp_path)
    assert (config["BACKUP_DIR"], config["BACKUP_KEEP"]) == (str(tmp_path / "backups"), 14)
    monkeypatch.setenv("BACKUP_KEEP", "0")
    with pytest.raises(ConfigError, match="BACKUP_KEEP"):
        load_config(tmp_path)
