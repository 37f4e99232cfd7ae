"""The official account's permanent string-scene QR codes, fetched from WeChat once per scene and kept.

WeChat allows an account 100,000 permanent codes, and asking again for a scene it already made
answers the same code, so a code is asked for once and its content (WeChat's `url`, what the
code encodes) is stored in `oa_scene_qr`. We draw the code ourselves from that content; WeChat's
image is never downloaded.

Several requests may want the same codes at once (two staff print one class). No transaction is
held open while WeChat answers, so a scene is first *claimed*: an `INSERT ... ON CONFLICT DO
NOTHING` of a row without content carrying this request's claim token, committed at once. The
request whose token the row carries fetches the code and stores it (a guarded UPDATE: only while
its claim stands); the others wait for the row to be filled. A failed fetch deletes its claim, so
the next request tries again; a claim older than STALE_CLAIM_SECONDS (its request died) may be
taken over by a guarded UPDATE, which only one request can win.

These functions commit: call them with no work of the caller's still pending.
"""

import logging
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from school_points.models import OaSceneQr
from school_points.platform import clock
from school_points.platform.clock import utcnow
from school_points.platform.db_setup import insert_or_skip
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.wechat import clients

log = logging.getLogger(__name__)

FETCH_BUDGET_SECONDS = 15.0  # the whole page must answer well inside gunicorn's 30 s
CALL_TIMEOUT_SECONDS = 4.0
MAX_FAILURES_IN_A_ROW = 2  # WeChat is down or refusing: do not try every remaining code
STALE_CLAIM_SECONDS = 60  # longer than any fetch can take (FETCH_BUDGET_SECONDS + one call)
WAIT_STEP_SECONDS = 0.2
WAIT_SECONDS = FETCH_BUDGET_SECONDS + CALL_TIMEOUT_SECONDS
MAX_SCENE_LENGTH = 64  # WeChat's limit for scene_str


def stored_contents(scenes) -> dict[str, str]:
    """The stored content of each of `scenes` that has one (no WeChat call)."""
    scenes = list(scenes)
    if not scenes:
        return {}
    rows = db.session.execute(
        select(OaSceneQr.scene, OaSceneQr.content).where(OaSceneQr.scene.in_(scenes), OaSceneQr.content.is_not(None))
    )
    return dict(rows.all())


def permanent_qr_contents(scenes) -> dict[str, str | None]:
    """What each scene's permanent QR code encodes; None where WeChat could not make it now.

    Commits (see the module's docstring). Without the official account configured nothing is
    asked of WeChat and only stored contents come back.
    """
    scenes = [s for s in dict.fromkeys(scenes) if 0 < len(s) <= MAX_SCENE_LENGTH]
    found = stored_contents(scenes)
    missing = [s for s in scenes if s not in found]
    if missing and clients.oa_configured():
        db.session.commit()  # the caller's reads end here: nothing stays open across WeChat's answers
        token = secrets.token_hex(16)
        mine = _claim(missing, token)
        found.update(_fetch_and_store(mine, token))
        found.update(_wait_for([s for s in missing if s not in mine]))
    return {s: found.get(s) for s in scenes}


def _claim(scenes, token):
    """Claim the scenes nobody has claimed (or whose claim went stale); the ones this token holds."""
    now = utcnow()
    # Rows in one order for every request (PostgreSQL: two overlapping claims cannot deadlock).
    db.session.execute(
        insert_or_skip(OaSceneQr.__table__, ["scene"]).values(
            [{"scene": s, "claim_token": token, "claimed_at": now} for s in sorted(scenes)]
        )
    )
    db.session.execute(
        update(OaSceneQr)
        .where(
            OaSceneQr.scene.in_(scenes),
            OaSceneQr.content.is_(None),
            OaSceneQr.claimed_at < now - timedelta(seconds=STALE_CLAIM_SECONDS),
        )
        .values(claim_token=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    mine = db.session.scalars(
        select(OaSceneQr.scene).where(
            OaSceneQr.scene.in_(scenes), OaSceneQr.claim_token == token, OaSceneQr.content.is_(None)
        )
    ).all()
    db.session.commit()
    return [s for s in scenes if s in set(mine)]


def _fetch_and_store(scenes, token):
    """Ask WeChat for each claimed scene's code (within the budget), store what came back and give
    up the other claims; returns {scene: content} of the codes made."""
    made, failures_in_a_row = {}, 0
    deadline = clock.monotonic() + FETCH_BUDGET_SECONDS
    for scene in scenes:
        if failures_in_a_row >= MAX_FAILURES_IN_A_ROW or clock.monotonic() >= deadline:
            break
        try:
            qr = clients.oa_qrcode(scene, None, timeout=CALL_TIMEOUT_SECONDS)
        except DomainError as exc:
            failures_in_a_row += 1
            # The scene holds a family's bind code: the log names only the kind of scene.
            log.warning("permanent QR for a %s scene not made: %s", scene.split("_", 1)[0], exc)
            continue
        content = qr.get("content") or ""
        if not content.startswith(("http://", "https://")) or len(content) > 255:
            failures_in_a_row += 1
            log.warning("permanent QR for a %s scene: WeChat returned no usable url", scene.split("_", 1)[0])
            continue
        failures_in_a_row = 0
        made[scene] = (content, str(qr.get("ticket") or "")[:255])
    now = utcnow()
    for scene, (content, ticket) in made.items():
        db.session.execute(
            update(OaSceneQr)
            .where(OaSceneQr.scene == scene, OaSceneQr.claim_token == token)
            .values(content=content, ticket=ticket, fetched_at=now, claim_token=None)
            .execution_options(synchronize_session=False)
        )
    unmade = [s for s in scenes if s not in made]
    if unmade:
        db.session.execute(
            delete(OaSceneQr)
            .where(OaSceneQr.scene.in_(unmade), OaSceneQr.claim_token == token, OaSceneQr.content.is_(None))
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return {scene: content for scene, (content, _) in made.items()}


def _wait_for(scenes):
    """Wait for other requests' claims on `scenes` to be filled; {scene: content} of those that were.
    A claim that disappears (its fetch failed) or outlasts the wait is given up on."""
    found, waiting = {}, set(scenes)
    deadline = clock.monotonic() + WAIT_SECONDS
    while waiting:
        rows = dict(
            db.session.execute(select(OaSceneQr.scene, OaSceneQr.content).where(OaSceneQr.scene.in_(waiting))).all()
        )
        db.session.commit()  # SQLite: a transaction holds the write lock the fetcher needs to store
        for scene in list(waiting):
            if rows.get(scene) is not None:
                found[scene] = rows[scene]
            if scene not in rows or rows[scene] is not None:
                waiting.discard(scene)
        if not waiting or clock.monotonic() >= deadline:
            break
        clock.sleep(WAIT_STEP_SECONDS)
    return found
