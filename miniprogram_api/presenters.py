"""Turn domain objects into the API's shapes, loading what a list needs in one query, not one per row."""

from sqlalchemy import select

from school_points.accounts.levels import level_view, levels_config
from school_points.models import Campus, Guardian, Like, PointsAccount, Student
from school_points.people import guardians
from school_points.people.names import given_name
from school_points.platform.extensions import db

from . import schemas
from .kit import dump
from .uploads import shown_media


def user_out(user):
    return dump(
        schemas.UserOut,
        {
            "id": user.id,
            "nickname": user.nickname or "",
            "referral_code": user.referral_code,
            "default_student_id": user.default_student_id,
            "oa_linked": user.oa_openid is not None,
        },
    )


def accounts_of(student_ids):
    """{student_id: (balance, lifetime)} for many students in one query."""
    if not student_ids:
        return {}
    rows = db.session.execute(
        select(PointsAccount.student_id, PointsAccount.balance, PointsAccount.lifetime).where(
            PointsAccount.student_id.in_(list(student_ids))
        )
    )
    return {sid: (balance, lifetime) for sid, balance, lifetime in rows}


def student_summaries(user):
    """The user's students with relation, campus, balance and lifetime points."""
    rows = db.session.execute(
        select(Student, Guardian.relation, Campus.name)
        .join(Guardian, Guardian.student_id == Student.id)
        .join(Campus, Campus.id == Student.campus_id)
        .where(Guardian.user_id == user.id)
        .order_by(Guardian.id)
    ).all()
    accounts = accounts_of([student.id for student, _, _ in rows])
    default = guardians.default_among(user, [student for student, _, _ in rows])
    levels = levels_config()
    return [
        {
            "id": student.id,
            "name": student.name,
            "campus_id": student.campus_id,
            "campus_name": campus,
            "relation": relation,
            "balance": accounts.get(student.id, (0, 0))[0],
            "lifetime_points": accounts.get(student.id, (0, 0))[1],
            "level": level_view(accounts.get(student.id, (0, 0))[1], levels) if levels else None,
            "is_default": default is not None and default.id == student.id,
        }
        for student, relation, campus in rows
    ]


def teacher_profile(teacher):
    if teacher is None or not teacher.active:
        return None
    return {
        "id": teacher.id,
        "name": teacher.name,
        "campus_id": teacher.campus_id,
        "campus_name": teacher.campus.name if teacher.campus else "",
        "classes": [{"id": k.id, "name": k.name} for k in teacher.classes],
    }


def me_out(user):
    students = student_summaries(user)
    teacher = teacher_profile(user.teacher)
    roles = (["guardian"] if students else []) + (["teacher"] if teacher else [])
    return dump(
        schemas.MeOut,
        {
            "user": user_out(user),
            "roles": roles,
            "students": students,
            "teacher": teacher,
            "referral_code": user.referral_code,
        },
    )


def redemption_out(order, *, with_pickup_code=True):
    """An order; the pickup code only while it can still be handed out, and only to its family."""
    student = db.session.get(Student, order.student_id)  # usually already in the session: no query
    return dump(
        schemas.RedemptionOut,
        {
            "id": order.id,
            "student_id": order.student_id,
            "student_name": student.name if student else "",
            "goods_id": order.goods_id,
            "goods_name": order.goods_name,
            "goods_image_url": order.goods_image_url or "",
            "quantity": order.quantity,
            "points_each": order.points_each,
            "total_points": order.total_points,
            "status": order.status,
            "pickup_code": order.pickup_code if with_pickup_code and order.status == "pending" else None,
            "issue_method": order.issue_method,
            "cancel_reason": order.cancel_reason or "",
            "created_at": order.created_at,
            "issued_at": order.issued_at,
            "cancelled_at": order.cancelled_at,
        },
    )


def records_out(records, viewer):
    """Growth records as anyone may see them: the student's given name, no contact data, and only
    media that are our own uploads (whatever an older record stored)."""
    ids = [r.id for r in records]
    liked = set()
    if ids:
        liked = set(
            db.session.scalars(select(Like.record_id).where(Like.record_id.in_(ids), Like.user_id == viewer.id))
        )
    return [
        dump(
            schemas.GrowthRecordOut,
            {
                "id": r.id,
                "student_id": r.student_id,
                "student_name": given_name(r.student.name) if r.student else "",
                "content": r.content or "",
                "media": shown_media(r.media),
                "like_count": r.like_count,
                "liked_by_me": r.id in liked,
                "created_at": r.created_at,
            },
        )
        for r in records
    ]


def goods_out(goods):
    """The domain's goods dict (`mall.goods_item`) in the documented shape."""
    return dump(
        schemas.GoodsOut,
        {
            "id": goods["id"],
            "name": goods["name"],
            "description": goods.get("description") or "",
            "image_url": goods.get("image_url") or "",
            "points": goods["points"],
            "stock": goods["stock"],
            "limit_per_student": goods.get("limit_per_student"),
            "redeemed_by_student": goods.get("redeemed_by_student") or 0,
            "min_level": goods.get("min_level"),
            "locked": bool(goods.get("locked")),
        },
    )
