"""Printable sheets for the school office (docs/PRINTABLE_SHEETS.md): a class's bind cards for
families, and the invite cards of teachers who have not joined yet. One card per person, cut out
and handed over.

A bind card carries the student's bind code, the words a parent sends to the official account
(`绑定 <code>`) and, when the official account is configured, the QR code of its permanent
`bind_<code>` scene: scanning it follows the account and binds the child in one step (the bot's
scene handling, wechat_bot/events.py). Each scene's code is asked of WeChat once and kept
(wechat.permanent_qr). A teacher becomes a teacher in the mini-program (`POST /api/v1/me/teacher`),
not through the official account, so an invite card carries the code and no QR code.

Each sheet is a unit of work of its own, like a job: it audits the printing (bind and invite codes
are secrets) and commits before asking WeChat for QR codes, so no transaction stays open while
WeChat answers (wechat.permanent_qr commits its claims and results).
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from school_points.models import Campus, SchoolClass, Student, Teacher
from school_points.people.classes import get_class
from school_points.platform.clock import local_today
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.scoping import campus_filter_id
from school_points.wechat import clients, permanent_qr

from .sheet_page import Card, RenderedSheet, Sheet, qr_svg, render

BIND_SCENE_PREFIX = "bind_"  # wechat_bot/events.py binds the student whose code follows it
BIND_WORD = "绑定"  # the official account's text command (wechat_bot/dispatch.py)

HOW_TO_BIND_WITH_QR = "家长用微信扫描二维码，关注公众号即可绑定孩子；也可在公众号发送卡片上的文字。"
HOW_TO_BIND_WITHOUT_QR = "家长关注学校公众号后发送卡片上的文字即可绑定孩子；也可在学校小程序中输入绑定码。"
HOW_TO_JOIN = "老师在学校的微信小程序中填写邀请码即可成为老师。邀请码只能使用一次，请勿转给他人。"
NO_QR_FAILED = "二维码暂未生成（微信接口暂不可用），请用上面的文字绑定；稍后重新打印可补全二维码。"
NO_QR_NOT_CONFIGURED = "也可在学校小程序中输入绑定码。"
QR_CAPTION = "微信扫码 关注并绑定"
SOME_QR_FAILED = "有 {count} 张卡片未能生成二维码（微信接口暂不可用），这些卡片请用文字绑定；稍后重新打印可补全。"
TEACHER_NOTE = "在学校的微信小程序中填写此邀请码，只能使用一次。"


@dataclass(frozen=True)
class _Person:
    """What a card shows of one student or teacher, read before the transaction ends."""

    name: str
    details: tuple[str, ...]
    code: str
    scene: str = ""


def class_bind_sheet(class_id, scope, *, actor) -> RenderedSheet:
    """The bind cards of a class's active students as a printable page; NotFound outside the scope.
    Commits (see the module's docstring)."""
    klass = get_class(class_id, scope)
    students = db.session.scalars(
        select(Student)
        .where(
            Student.classes.any(SchoolClass.id == klass.id),
            Student.status == "active",
            Student.bind_code.is_not(None),
        )
        .order_by(Student.student_no.is_(None), Student.student_no, Student.id)
    ).all()
    heading = f"{klass.campus.name} · {klass.name}"
    people = [
        _Person(
            name=s.name,
            details=(f"班级：{klass.name}", *([f"学号：{s.student_no}"] if s.student_no else [])),
            code=s.bind_code,
            scene=BIND_SCENE_PREFIX + s.bind_code,
        )
        for s in students
    ]
    audit.record(
        actor, "class.bind_sheet", "class", klass.id, campus_id=klass.campus_id, changes={"students": len(people)}
    )
    db.session.commit()  # the audit line stands whatever WeChat does next
    return render(_bind_sheet(heading, people))


def _bind_sheet(heading, people):
    with_qr = clients.oa_configured()
    contents = permanent_qr.permanent_qr_contents([p.scene for p in people]) if with_qr else {}
    cards = []
    for person in people:
        content = contents.get(person.scene)
        cards.append(
            Card(
                name=person.name,
                details=person.details,
                code_label="绑定码",
                code=person.code,
                words_label="或在公众号发送" if content else "关注公众号后发送",
                words=f"{BIND_WORD} {person.code}",
                qr_svg=qr_svg(content) if content else None,
                qr_caption=QR_CAPTION,
                note="" if content else (NO_QR_FAILED if with_qr else NO_QR_NOT_CONFIGURED),
                failed=with_qr and not content,
            )
        )
    failed = sum(card.failed for card in cards)
    return Sheet(
        kind="家长绑定卡",
        heading=heading,
        printed_on=local_today(),
        instructions=HOW_TO_BIND_WITH_QR if with_qr else HOW_TO_BIND_WITHOUT_QR,
        notice=SOME_QR_FAILED.format(count=failed) if failed else "",
        empty_text="该班级没有在读学员。",
        cards=cards,
    )


def teacher_invite_sheet(scope, *, campus_id=None, actor) -> RenderedSheet:
    """Invite cards of the active teachers in scope who have not joined yet (one campus with
    `campus_id`; NotFound for a campus outside the scope). Audited; commits."""
    campus_id = campus_filter_id(scope, campus_id)
    query = (
        select(Teacher)
        .options(selectinload(Teacher.classes))
        .where(Teacher.active.is_(True), Teacher.user_id.is_(None), Teacher.invite_code.is_not(None))
    )
    if campus_id is not None:
        query = query.where(Teacher.campus_id == campus_id)
    teachers = db.session.scalars(query.order_by(Teacher.campus_id, Teacher.id)).all()
    campus_names = dict(db.session.execute(select(Campus.id, Campus.name)).all())
    people = [
        _Person(
            name=t.name,
            details=(
                f"校区：{campus_names.get(t.campus_id, '')}",
                *([f"班级：{'、'.join(c.name for c in t.classes)}"] if t.classes else []),
            ),
            code=t.invite_code,
        )
        for t in teachers
    ]
    heading = campus_names.get(campus_id, "") if campus_id is not None else "全部校区"
    audit.record(
        actor, "teacher.invite_sheet", "campus", campus_id or "", campus_id=campus_id, changes={"teachers": len(people)}
    )
    db.session.commit()
    sheet = Sheet(
        kind="老师邀请卡",
        heading=heading,
        printed_on=local_today(),
        instructions=HOW_TO_JOIN,
        notice="",
        empty_text="没有待加入的老师：每位在职老师都已用邀请码加入。",
        cards=[
            Card(
                name=p.name,
                details=p.details,
                code_label="邀请码",
                code=p.code,
                words_label="",
                words="",
                qr_svg=None,
                qr_caption="",
                note=TEACHER_NOTE,
                failed=False,
            )
            for p in people
        ],
    )
    return render(sheet)
