"""Member levels: goods.min_level, points_account.level_notified, and redeem_goods checks the level

Additive columns: `goods.min_level` (nullable: goods for everyone) and `points_account.level_notified`
(the highest level whose `level_up` notice was recorded, 0 for every existing account: nobody is
notified of a level they reached before levels existed, since a notice needs an entry that crosses
a tier). The `redeem_goods` function gains the level check (`level_too_low`) right after the
account's row lock, before the per-student limit; its signature is unchanged, so CREATE OR REPLACE
replaces it. This revision holds its own frozen copy of the definition, as a migration must
(tests/perf/test_redeem_function.py checks it against the models'). Downgrade restores
e9a1c0000010's definition. SQLite has no stored functions.

Revision ID: e9a1c0000070
Revises: e9a1c0000090
Create Date: 2026-12-03 15:00:00

"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e9a1c0000070"
down_revision = "e9a1c0000090"
branch_labels = None
depends_on = None

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


def upgrade():
    with op.batch_alter_table("goods", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_level", sa.Integer(), nullable=True))
    with op.batch_alter_table("points_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level_notified", sa.Integer(), server_default="0", nullable=False))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(FUNCTION_SQL)  # driver SQL: no bind-parameter parsing of the body


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(_previous().FUNCTION_SQL)  # before the columns it reads go
    with op.batch_alter_table("points_account", schema=None) as batch_op:
        batch_op.drop_column("level_notified")
    with op.batch_alter_table("goods", schema=None) as batch_op:
        batch_op.drop_column("min_level")


def _previous():
    """The revision whose frozen definition a downgrade restores."""
    path = next(Path(__file__).parent.glob("e9a1c0000010_*.py"))
    spec = importlib.util.spec_from_file_location("migration_e9a1c0000010", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
