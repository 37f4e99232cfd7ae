"""Growth records (成长记录/打卡): check-in points, likes and shares, each under its daily cap."""

from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError

from school_points.accounts import ledger
from school_points.models import GrowthRecord, Guardian, LedgerEntry, Like, Share, Student, WechatUser
from school_points.people import guardians, oa_users
from school_points.platform import ratelimit
from school_points.platform.clock import local_today, utcnow
from school_points.platform.codes import key_digest
from school_points.platform.db_setup import insert_or_skip
from school_points.platform.errors import NotFound, ValidationFailed
from school_points.platform.extensions import db
from school_points.points import level_rewards
from school_points.school.actors import Actor
from school_points.school.settings import get_settings

MAX_CONTENT_LENGTH = 2000
MAX_MEDIA = 9
MAX_MEDIA_URL_LENGTH = 512
LIKES_PER_MINUTE = 30


@dataclass(frozen=True)
class CheckIn:
    """An official-account check-in: who sent it, for which student (None: no bound student),
    the record, the points it earned and the student's balance afterwards."""

    user: WechatUser
    student: Student | None = None
    record: GrowthRecord | None = None
    awarded: int = 0
    balance: int = 0


def post_record(user, student_id, content, media, *, source="mp", key) -> tuple[GrowthRecord, int]:
    """A guardian posts a record; it earns check-in points while the student's daily count allows."""
    student = guardians.guardian_student(user, student_id)
    record, awarded, _ = _post(user, student, content, media, source=source, key=key)
    return record, awarded


def check_in_by_oa(openid, content, media, *, key) -> CheckIn:
    """A check-in sent to the official account, for the sender's default student.

    One query finds the sender, their default student and (by the join) the guardianship; a
    sender we do not know yet is created, and any sender is marked as following.
    """
    user, student = _oa_sender_and_default_student(openid)
    if user is None:
        user, _ = oa_users.find_or_create_oa_user(openid)
    if not user.oa_subscribed:
        oa_users.set_subscribed(user, True)
    if student is None:
        return CheckIn(user)
    record, awarded, account = _post(user, student, content, media, source="oa", key=key)
    return CheckIn(user, student, record, awarded, account.balance)


def _post(user, student, content, media, *, source, key):
    """(record, points awarded, locked account): the record of `key` once, under the account's lock."""
    if student.status != "active":
        raise NotFound("学员不存在")
    content, media = _clean_content(content, media)
    account = ledger.lock(student.id)
    record_key = f"growth:u{user.id}:{key_digest(key)}"
    # Under the lock, one INSERT ... ON CONFLICT DO NOTHING is both the idempotency check and the
    # insert; a repeat (or a concurrent one that committed while we waited) finds the first record.
    record = _insert_record(
        dict(
            student_id=student.id,
            author_user_id=user.id,
            content=content,
            media=media,
            source=source if source in ("mp", "oa") else "mp",
            local_day=local_today(),
            idempotency_key=record_key,
            created_at=utcnow(),
        )
    )
    if record is None:
        done = _record_by_key(record_key)
        return done, _checkin_points(done), account
    return record, _award_checkin(account, record, Actor.user(user.id), student), account


def delete_record(user, record_id) -> GrowthRecord:
    """A guardian deletes a record; check-in points earned by it today are taken back."""
    record = get_record(record_id)
    guardians.guardian_student(user, record.student_id)
    account = ledger.lock(record.student_id)
    record = get_record(record_id, refresh=True)  # re-read under the lock: a concurrent delete won
    record.deleted_at = utcnow()
    if record.checkin_entry_id is not None and record.local_day == local_today():
        earned = db.session.get(LedgerEntry, record.checkin_entry_id)
        ledger.reverse(
            account,
            earned,
            key=f"reversal:checkin:rec:{record.id}",
            actor=Actor.user(user.id),
            note="删除打卡记录，收回打卡积分",
        )
        for bonus in level_rewards.bonus_entries(earned.idempotency_key):  # its bonuses go with it
            ledger.reverse(
                account,
                bonus,
                key=f"reversal:{bonus.idempotency_key}"[:200],
                actor=Actor.user(user.id),
                note="删除打卡记录，收回加成积分",
            )
    db.session.flush()
    return record


def like_record(user, record_id) -> tuple[bool, int, int]:
    """One like per user per record; it earns the student points unless a guardian liked it."""
    ratelimit.hit("like", user.id, limit=LIKES_PER_MINUTE, window_seconds=60)
    record = get_record(record_id)
    if _like_of(record.id, user.id) is not None:
        return True, record.like_count, 0
    account = ledger.lock(record.student_id)
    like = Like(record_id=record.id, user_id=user.id, awarded=0, created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(like)
    except IntegrityError:  # the same user's concurrent like won
        return True, get_record(record_id, refresh=True).like_count, 0
    db.session.execute(
        update(GrowthRecord).where(GrowthRecord.id == record.id).values(like_count=GrowthRecord.like_count + 1)
    )
    record = get_record(record_id, refresh=True)
    like.awarded = _award_like(account, record, user)
    db.session.flush()
    return True, record.like_count, like.awarded


def share_record(user, record_id, *, key) -> int:
    """A guardian shares a record; points per share up to the daily number of rewarded shares."""
    record = get_record(record_id)
    guardians.guardian_student(user, record.student_id)
    share_key = f"share:u{user.id}:{key_digest(key)}"
    if (done := _share_by_key(share_key)) is not None:
        return done.awarded
    account = ledger.lock(record.student_id)
    if (done := _share_by_key(share_key)) is not None:
        return done.awarded
    share = Share(record_id=record.id, user_id=user.id, awarded=0, idempotency_key=share_key, created_at=utcnow())
    db.session.add(share)
    db.session.flush()
    rules = get_settings()["share"]
    points, cap = int(rules["points"]), int(rules["daily_cap"])
    if points > 0 and _entries_today(record.student_id, "share") < cap:
        share.awarded = level_rewards.credit_award(
            account,
            points,
            "share",
            key=f"share:{share.id}",
            ref=ledger.Ref("growth_record", record.id),
            actor=Actor.user(user.id),
            note="分享成长记录",
        ).total
    db.session.flush()
    return share.awarded


def get_record(record_id, *, refresh=False) -> GrowthRecord:
    """A growth record that has not been deleted; NotFound otherwise."""
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        raise NotFound("成长记录不存在")
    query = select(GrowthRecord).where(GrowthRecord.id == record_id)
    if refresh:
        query = query.execution_options(populate_existing=True)
    record = db.session.scalars(query).first()
    if record is None or record.deleted_at is not None:
        raise NotFound("成长记录不存在")
    return record


def _award_checkin(account, record, actor, student):
    """Check-in points (and their bonuses) while today's check-in entries (even reversed ones) are
    under the daily count; returns the points credited."""
    rules = get_settings()["checkin"]
    points, daily_count = int(rules["points"]), int(rules["daily_count"])
    if points <= 0 or _entries_today(record.student_id, "checkin") >= daily_count:
        return 0
    award = level_rewards.credit_award(
        account,
        points,
        "checkin",
        key=f"checkin:rec:{record.id}",
        ref=ledger.Ref("growth_record", record.id),
        actor=actor,
        note="成长记录打卡",
        student=student,
    )
    db.session.flush()
    record.checkin_entry_id = award.entry.id
    return award.total


def _award_like(account, record, user):
    """Like points to the record's student, up to the daily cap in points; guardians' likes earn nothing."""
    if guardians.is_guardian(user.id, record.student_id):
        return 0
    rules = get_settings()["like"]
    room = int(rules["daily_cap"]) - _points_today(record.student_id, "like")
    points = min(int(rules["points"]), room)
    if points <= 0:
        return 0
    return level_rewards.credit_award(
        account,
        points,
        "like",
        key=f"like:rec:{record.id}:u:{user.id}",
        ref=ledger.Ref("growth_record", record.id),
        actor=Actor.user(user.id),
        note="成长记录获赞",
    ).total


def _clean_content(content, media):
    content = content if content is not None else ""
    media = media if media is not None else []
    if not isinstance(content, str) or len(content.strip()) > MAX_CONTENT_LENGTH:
        raise ValidationFailed(details={"content": [f"内容最多 {MAX_CONTENT_LENGTH} 字"]})
    if (
        not isinstance(media, list)
        or len(media) > MAX_MEDIA
        or any(not isinstance(url, str) or not url.strip() or len(url) > MAX_MEDIA_URL_LENGTH for url in media)
    ):
        raise ValidationFailed(details={"media": [f"最多 {MAX_MEDIA} 张图片，每项是图片地址"]})
    if not content.strip() and not media:
        raise ValidationFailed("请填写内容或上传图片", details={"content": ["内容和图片不能都为空"]})
    return content.strip(), [url.strip() for url in media]


def _checkin_points(record):
    if record.checkin_entry_id is None:
        return 0
    return level_rewards.award_total(f"checkin:rec:{record.id}")


def _entries_today(student_id, kind):
    return int(
        db.session.scalar(
            select(func.count(LedgerEntry.id)).where(
                LedgerEntry.student_id == student_id, LedgerEntry.kind == kind, LedgerEntry.local_day == local_today()
            )
        )
    )


def _points_today(student_id, kind):
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(
                LedgerEntry.student_id == student_id, LedgerEntry.kind == kind, LedgerEntry.local_day == local_today()
            )
        )
    )


def _oa_sender_and_default_student(openid):
    """(user or None, default student or None): the default if still bound, else the first bound."""
    query = (
        select(WechatUser, Student)
        .outerjoin(Guardian, Guardian.user_id == WechatUser.id)
        .outerjoin(Student, Student.id == Guardian.student_id)
        .where(WechatUser.oa_openid == openid)
        .order_by(case((Guardian.student_id == WechatUser.default_student_id, 0), else_=1), Guardian.id)
        .limit(1)
    )
    row = db.session.execute(query).first()
    return (row[0], row[1]) if row is not None else (None, None)


def _insert_record(values):
    """The new record, or None when a record with its idempotency key exists."""
    statement = insert_or_skip(GrowthRecord, ["idempotency_key"]).values(**values).returning(GrowthRecord)
    return db.session.scalars(statement).first()


def _record_by_key(key):
    return db.session.scalars(select(GrowthRecord).where(GrowthRecord.idempotency_key == key)).first()


def _share_by_key(key):
    return db.session.scalars(select(Share).where(Share.idempotency_key == key)).first()


def _like_of(record_id, user_id):
    return db.session.scalars(select(Like).where(Like.record_id == record_id, Like.user_id == user_id)).first()
