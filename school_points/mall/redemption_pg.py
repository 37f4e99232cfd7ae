"""Redemption on PostgreSQL in one round trip: the `redeem_goods` PL/pgSQL function.

The Python path in `redemption.py` costs ~20 statements (and their ORM work) per order; this
function makes the same checks, in the same order and under the same locks, inside the database:
user enabled → guardian → idempotency key → active student → mall open → goods (exists, not
deleted, on shelf, campus) → the student's account row lock → key again (a concurrent repeat may
have committed while we waited) → member level (goods' min_level) → per-student limit over all
non-cancelled orders → balance → stock as last read (sold out: stop before writing) → pickup
code free (else the caller retries with another) → ledger entry + balance + lots oldest-expiring
first (lot_use) → order → audit (teachers, admins) → one `redeemed` outbox row per guardian →
guarded stock UPDATE, last. A failed check returns an error code having changed nothing. When
the stock UPDATE finds the goods sold out meanwhile (another order took the last one), the
function raises SQLSTATE SP409, which undoes its writes with the statement (no subtransaction on
every call) and which `redeem` maps to OutOfStock after rolling the session back.

The function is created by the Alembic revisions 7d0844d37b46, a6e61b32ddc2, e9a1c0000010 and e9a1c0000070
(deployments) and by the metadata's `after_create` event below (test and benchmark databases built with
`create_all`); tests/perf/test_redeem_function.py checks the two definitions are the same.
"""

from datetime import date, datetime

import psycopg
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from school_points.models import Goods, PointsAccount, Redemption, Student
from school_points.platform.autocommit import own_transaction, session_in_transaction
from school_points.platform.clock import isoformat, local_today, utcnow
from school_points.platform.codes import new_pickup_code
from school_points.platform.errors import (
    GoodsUnavailable,
    InsufficientPoints,
    LevelTooLow,
    LimitReached,
    MallClosed,
    NotFound,
    OutOfStock,
    UserDisabled,
)
from school_points.platform.extensions import db
from school_points.school.audit import client_address
from school_points.wechat.notifications import deliver_after_commit, deliver_committed

MAX_INT = 2**31 - 1
PICKUP_CODE_TRIES = 5
# Raised by the function when the guarded stock UPDATE finds the goods sold out meanwhile.
SOLD_OUT_SQLSTATE = "SP409"

FUNCTION_SQL = r"""
CREATE OR REPLACE FUNCTION redeem_goods(
    p_student_id integer, p_goods_id integer, p_quantity integer, p_order_key varchar,
    p_guardian_id integer, p_actor_type varchar, p_actor_id integer, p_pickup_code varchar,
    p_now timestamptz, p_local_day date, p_time_text varchar, p_client_address varchar
) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
    falsy CONSTANT jsonb[] := ARRAY['false', 'null', '0', '""', '[]', '{}']::jsonb[];
    v_order_id integer;
    v_student student;
    v_goods goods;
    v_settings jsonb;
    v_notify jsonb;
    v_enabled boolean;
    v_balance integer;
    v_lifetime integer;
    v_levels jsonb;
    v_level integer;
    v_used integer;
    v_total integer;
    v_entry_id bigint;
    v_left integer;
    v_take integer;
    v_lot record;
    v_pending integer[];
BEGIN
    IF p_guardian_id IS NOT NULL THEN
        IF NOT EXISTS (SELECT 1 FROM wechat_user WHERE id = p_guardian_id AND NOT disabled) THEN
            RETURN jsonb_build_object('error', 'user_disabled');
        END IF;
        IF NOT EXISTS (SELECT 1 FROM guardian WHERE user_id = p_guardian_id AND student_id = p_student_id) THEN
            RETURN jsonb_build_object('error', 'student_not_found');
        END IF;
    END IF;
    SELECT id INTO v_order_id FROM redemption WHERE idempotency_key = p_order_key;
    IF FOUND THEN
        RETURN jsonb_build_object('replay', v_order_id);
    END IF;
    SELECT * INTO v_student FROM student WHERE id = p_student_id;
    IF NOT FOUND OR v_student.status <> 'active' THEN
        RETURN jsonb_build_object('error', 'student_not_found');
    END IF;
    SELECT data::jsonb INTO v_settings FROM school_setting WHERE id = 1;
    IF (v_settings -> 'mall' -> 'open') = ANY (falsy) THEN
        RETURN jsonb_build_object('error', 'mall_closed');
    END IF;
    SELECT * INTO v_goods FROM goods WHERE id = p_goods_id;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('error', 'goods_not_found');
    END IF;
    IF v_goods.deleted OR NOT v_goods.on_shelf
            OR (v_goods.campus_id IS NOT NULL AND v_goods.campus_id <> v_student.campus_id) THEN
        RETURN jsonb_build_object('error', 'goods_unavailable');
    END IF;

    SELECT balance, lifetime INTO v_balance, v_lifetime FROM points_account WHERE student_id = p_student_id FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO points_account (student_id, balance, lifetime, updated_at)
        VALUES (p_student_id, 0, 0, p_now) ON CONFLICT (student_id) DO NOTHING;
        SELECT balance, lifetime INTO v_balance, v_lifetime FROM points_account
        WHERE student_id = p_student_id FOR UPDATE;
    END IF;
    SELECT id INTO v_order_id FROM redemption WHERE idempotency_key = p_order_key;
    IF FOUND THEN
        RETURN jsonb_build_object('replay', v_order_id);
    END IF;
    -- Member level (levels switched on): the highest tier whose min_lifetime <= lifetime points.
    v_levels := v_settings -> 'levels';
    IF v_goods.min_level IS NOT NULL AND NOT (coalesce(v_levels -> 'enabled', 'false') = ANY (falsy))
            AND jsonb_typeof(v_levels -> 'tiers') = 'array' AND jsonb_array_length(v_levels -> 'tiers') > 0 THEN
        SELECT coalesce(max((t ->> 'level')::integer) FILTER (WHERE (t ->> 'min_lifetime')::integer <= v_lifetime),
                        min((t ->> 'level')::integer))
        INTO v_level FROM jsonb_array_elements(v_levels -> 'tiers') t;
        IF v_level < v_goods.min_level THEN
            RETURN jsonb_build_object('error', 'level_too_low', 'details', jsonb_build_object(
                'required_level', v_goods.min_level, 'student_level', v_level));
        END IF;
    END IF;
    IF v_goods.limit_per_student IS NOT NULL THEN
        SELECT coalesce(sum(quantity), 0) INTO v_used FROM redemption
        WHERE student_id = p_student_id AND goods_id = v_goods.id AND status <> 'cancelled';
        IF v_used + p_quantity > v_goods.limit_per_student THEN
            RETURN jsonb_build_object('error', 'limit_reached', 'details',
                                      jsonb_build_object('limit', v_goods.limit_per_student, 'redeemed', v_used));
        END IF;
    END IF;
    v_total := v_goods.points * p_quantity;
    IF v_balance < v_total THEN
        RETURN jsonb_build_object('error', 'insufficient_points', 'details',
                                  jsonb_build_object('balance', v_balance, 'required', v_total));
    END IF;
    IF v_goods.stock < p_quantity THEN  -- sold out before we came: no need to write and undo
        RETURN jsonb_build_object('error', 'out_of_stock');
    END IF;
    IF EXISTS (SELECT 1 FROM redemption WHERE pickup_code = p_pickup_code) THEN
        RETURN jsonb_build_object('retry', 'pickup_code_taken');
    END IF;

    v_balance := v_balance - v_total;
    UPDATE points_account SET balance = v_balance, updated_at = p_now WHERE student_id = p_student_id;
    INSERT INTO ledger_entry (student_id, delta, balance_after, kind, ref_type, ref_id, actor_type, actor_id,
                              note, idempotency_key, local_day, created_at)
    VALUES (p_student_id, -v_total, v_balance, 'redemption', 'goods', v_goods.id::text, p_actor_type, p_actor_id,
            left('兑换 ' || v_goods.name || ' × ' || p_quantity, 255), 'redeem:' || p_order_key, p_local_day, p_now)
    RETURNING id INTO v_entry_id;
    v_left := v_total;
    FOR v_lot IN SELECT id, remaining FROM points_lot
                 WHERE student_id = p_student_id AND remaining > 0 ORDER BY expires_at, id LOOP
        EXIT WHEN v_left = 0;
        v_take := least(v_lot.remaining, v_left);
        UPDATE points_lot SET remaining = remaining - v_take WHERE id = v_lot.id;
        INSERT INTO lot_use (entry_id, lot_id, points) VALUES (v_entry_id, v_lot.id, v_take);
        v_left := v_left - v_take;
    END LOOP;

    INSERT INTO redemption (student_id, goods_id, campus_id, quantity, points_each, total_points, goods_name,
                            goods_image_url, status, pickup_code, idempotency_key, created_by_type, created_by_id,
                            created_at, cancel_reason)
    VALUES (p_student_id, v_goods.id, v_student.campus_id, p_quantity, v_goods.points, v_total, v_goods.name,
            coalesce(v_goods.image_url, ''), 'pending', p_pickup_code, p_order_key, p_actor_type, p_actor_id,
            p_now, '')
    RETURNING id INTO v_order_id;
    IF p_actor_type IN ('teacher', 'admin') THEN
        INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, campus_id, changes, created_at,
                               client_address)
        VALUES (p_actor_type, p_actor_id, 'redemption.create', 'redemption', v_order_id::text, v_student.campus_id,
                json_build_object('student_id', p_student_id, 'status', 'pending', 'goods_id', v_goods.id,
                                  'quantity', p_quantity), p_now, p_client_address);
    END IF;

    v_notify := coalesce(v_settings -> 'notifications' -> 'redeemed', '{}');
    v_enabled := NOT (coalesce(v_notify -> 'enabled', 'false') = ANY (falsy));
    WITH created AS (
        INSERT INTO notification (kind, dedupe_key, user_id, student_id, channel, template_id, values, page, status,
                                  attempts, last_error, client_msg_id, delivery_status, created_at)
        SELECT 'redeemed', left('redeemed:' || v_order_id || ':u' || g.user_id, 200), g.user_id, p_student_id, '',
               coalesce(v_notify ->> 'template_id', ''),
               json_build_object('student', v_student.name, 'time', p_time_text, 'goods', v_goods.name,
                                 'points', v_total, 'balance', v_balance),
               '', CASE WHEN v_enabled THEN 'pending' ELSE 'skipped' END,
               0, CASE WHEN v_enabled THEN '' ELSE '该通知未开启' END, '', '', p_now
        FROM guardian g WHERE g.student_id = p_student_id ORDER BY g.id
        RETURNING id, status
    )
    SELECT coalesce(array_agg(id ORDER BY id) FILTER (WHERE status = 'pending'), '{}') INTO v_pending FROM created;

    -- Last: every redemption of these goods queues on this row until the commit, which (the call
    -- being its own transaction) follows at once. Sold out meanwhile: the exception undoes every
    -- write of this call; the caller maps it to out_of_stock.
    UPDATE goods SET stock = stock - p_quantity, updated_at = p_now WHERE id = v_goods.id AND stock >= p_quantity;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'out_of_stock' USING ERRCODE = 'SP409';
    END IF;

    RETURN jsonb_build_object(
        'order', jsonb_build_object(
            'id', v_order_id, 'campus_id', v_student.campus_id, 'points_each', v_goods.points, 'total_points', v_total,
            'goods_name', v_goods.name, 'goods_image_url', coalesce(v_goods.image_url, ''),
            'pickup_code', p_pickup_code),
        'student', to_jsonb(v_student), 'pending_notifications', to_jsonb(v_pending));
END
$fn$;
"""

DROP_SQL = (
    "DROP FUNCTION IF EXISTS redeem_goods(integer, integer, integer, varchar, integer, varchar, integer, "
    "varchar, timestamptz, date, varchar, varchar)"
)

_CALL = text(
    "SELECT redeem_goods(CAST(:student_id AS integer), CAST(:goods_id AS integer), CAST(:quantity AS integer), "
    "CAST(:order_key AS varchar), CAST(:guardian_id AS integer), CAST(:actor_type AS varchar), "
    "CAST(:actor_id AS integer), CAST(:pickup_code AS varchar), CAST(:now AS timestamptz), "
    "CAST(:local_day AS date), CAST(:time_text AS varchar), CAST(:client_address AS varchar))"
)

# The same call for a psycopg cursor (`_call_alone`).
_RAW_CALL = (
    "SELECT redeem_goods(%(student_id)s::integer, %(goods_id)s::integer, %(quantity)s::integer, "
    "%(order_key)s::varchar, %(guardian_id)s::integer, %(actor_type)s::varchar, %(actor_id)s::integer, "
    "%(pickup_code)s::varchar, %(now)s::timestamptz, %(local_day)s::date, %(time_text)s::varchar, "
    "%(client_address)s::varchar)"
)

_ERRORS = {
    "user_disabled": lambda details: UserDisabled(),
    "student_not_found": lambda details: NotFound("学员不存在"),
    "goods_not_found": lambda details: NotFound("商品不存在"),
    "mall_closed": lambda details: MallClosed(),
    "goods_unavailable": lambda details: GoodsUnavailable(),
    "level_too_low": lambda details: LevelTooLow(details=details),
    "limit_reached": lambda details: LimitReached(details=details),
    "insufficient_points": lambda details: InsufficientPoints(details=details),
    "out_of_stock": lambda details: OutOfStock(),
}


def redeem(student_id, goods_id, quantity, order_key, *, actor, guardian_id=None, standalone=False) -> Redemption:
    """Run one redemption in the database; the persistent order, or the DomainError of the first failed rule.

    `standalone`: the caller commits nothing else with the order. Then, when no transaction is open
    yet, the call runs in autocommit: the statement is its own transaction, committed by the server
    as the function returns. That saves the BEGIN and COMMIT round trips, and the goods row (which
    every redemption of these goods queues on) is released at once instead of after this process
    gets round to sending COMMIT.
    """
    now = utcnow()
    params = {
        "student_id": _id_or_none(student_id),
        "goods_id": _id_or_none(goods_id),
        "quantity": quantity,
        "order_key": order_key,
        "guardian_id": guardian_id,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "now": now,
        "local_day": local_today(now),
        "time_text": isoformat(now),
        "client_address": client_address(),  # for the audit entry of a staff redemption, as audit.record keeps
    }
    alone = standalone and not session_in_transaction()
    call = _call_alone if alone else _call_in_session
    for _ in range(PICKUP_CODE_TRIES):  # a code already in use is astronomically rare: try a new one
        result = call({**params, "pickup_code": new_pickup_code()})
        if "retry" not in result:
            break
    else:
        raise RuntimeError(f"no free pickup code after {PICKUP_CODE_TRIES} tries")
    if "error" in result:
        raise _ERRORS[result["error"]](result.get("details"))
    if "replay" in result:
        return db.session.get(Redemption, result["replay"])
    _expire_stale(PointsAccount, student_id)
    _expire_stale(Goods, goods_id)
    if not alone:
        deliver_after_commit(result["pending_notifications"])  # written in the caller's transaction
    order = _attach_order(result["order"], student_id, goods_id, quantity, order_key, actor, now)
    set_committed_value(order, "student", _attach_student(result["student"]))  # also keeps it in the session
    if alone:  # the server committed the order and its notifications as the call returned
        deliver_committed(result["pending_notifications"])
    return order


def _call_in_session(params):
    """The call inside the session's transaction, which the caller commits."""
    try:
        return db.session.connection().execute(_CALL, params).scalar_one()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != SOLD_OUT_SQLSTATE:
            raise
        db.session.rollback()  # the call's writes are undone; so is the rest of the transaction
        raise OutOfStock() from None


def _call_alone(params):
    """The call as its own transaction (autocommit.own_transaction): the server commits as the
    function returns, and the session, which has nothing to do with this call, is not involved."""
    try:
        with own_transaction() as cursor:
            cursor.execute(_RAW_CALL, params)
            return cursor.fetchone()[0]
    except psycopg.Error as exc:
        if exc.sqlstate == SOLD_OUT_SQLSTATE:
            raise OutOfStock() from None
        raise


def _attach_order(row, student_id, goods_id, quantity, order_key, actor, now):
    """The order the function inserted, as a persistent object, without reading it back."""
    return _as_loaded(
        Redemption,
        dict(
            student_id=student_id,
            goods_id=goods_id,
            quantity=quantity,
            status="pending",
            idempotency_key=order_key,
            created_by_type=actor.type,
            created_by_id=actor.id,
            created_at=now,
            issued_at=None,
            issued_by_type=None,
            issued_by_id=None,
            issue_method=None,
            cancelled_at=None,
            cancelled_by_type=None,
            cancelled_by_id=None,
            cancel_reason="",
            **row,
        ),
    )


def _attach_student(row):
    """The student row the function read, put in the session so presenting the order needs no query."""
    known = db.session.identity_map.get(db.session.identity_key(Student, row["id"]))
    if known is not None:
        return known
    return _as_loaded(
        Student,
        dict(
            id=row["id"],
            name=row["name"],
            campus_id=row["campus_id"],
            status=row["status"],
            bind_code=row["bind_code"],
            birthday=date.fromisoformat(row["birthday"]) if row["birthday"] else None,
            created_at=datetime.fromisoformat(row["created_at"]),
        ),
    )


def _as_loaded(model, values):
    """A persistent `model` object holding a row's `values` as loaded from the database, in the session.

    The values go straight into the new instance's state, as SQLAlchemy's own loading puts them
    (no change events, no history: a third of the cost of the constructor); attributes not given
    are expired, so reading one loads it.
    """
    instance = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    db.session.add(instance)
    return instance


def _expire_stale(model, ident):
    """Objects of this session that the function changed behind the ORM's back are reloaded on next use."""
    stale = db.session.identity_map.get(db.session.identity_key(model, ident))
    if stale is not None:
        db.session.expire(stale)


def _id_or_none(value):
    """An id the database can compare; anything else matches no row (an integer column cannot hold it)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_INT else None


@event.listens_for(db.metadata, "after_create")
def _create_function(target, connection, **kw):
    """Databases built from the models (tests, benchmarks) get the function too."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(FUNCTION_SQL)


# Every redeem_goods of the current schema, whatever its arguments (a database built by an older
# version of this module may hold an earlier signature).
_DROP_ALL_SQL = """
DO $drop$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT oid::regprocedure FROM pg_proc
             WHERE proname = 'redeem_goods' AND pronamespace = current_schema()::regnamespace LOOP
        EXECUTE 'DROP FUNCTION ' || f;
    END LOOP;
END
$drop$
"""


@event.listens_for(db.metadata, "before_drop")
def _drop_function(target, connection, **kw):
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_DROP_ALL_SQL)
