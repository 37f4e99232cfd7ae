"""A guardian's view of a student's points: balance, history, daily sign-in."""

from flask import g

from school_points.accounts import ledger
from school_points.accounts.levels import level_view
from school_points.people import guardians
from webkit.pagination import page
from webkit.responses import respond

from . import bp, schemas
from .kit import api, dump, load_query
from .presenters import accounts_of
from .queries import ledger_page


@bp.get("/students/<int:sid>/points")
@api("学员积分：余额、累计积分、会员等级、即将过期", out=schemas.PointsOut, tags=["积分"])
def student_points(sid):
    guardians.guardian_student(g.user, sid)
    balance, lifetime = accounts_of([sid]).get(sid, (0, 0))
    return respond(
        dump(
            schemas.PointsOut,
            {
                "balance": balance,
                "lifetime_points": lifetime,
                "level": level_view(lifetime),
                "expiring": ledger.expiring_points(sid),
            },
        )
    )


@bp.get("/students/<int:sid>/points/history")
@api("积分流水（新的在前）", query=schemas.PageQuery, out=schemas.LedgerPage, tags=["积分"])
def points_history(sid):
    args = load_query(schemas.PageQuery)
    guardians.guardian_student(g.user, sid)
    entries, next_cursor = ledger_page(sid, args["limit"], args["cursor"])
    return respond(page(dump(schemas.LedgerEntryOut, entries, many=True), next_cursor))


@bp.post("/students/<int:sid>/signin")
@api("每日签到", out=schemas.SigninOut, idempotent=True, tags=["积分"], errors={409: ["already_signed_in"]})
def signin(sid):
    from school_points.points.signin import sign_in

    guardians.guardian_student(g.user, sid)
    awarded, streak, balance = sign_in(sid, actor=g.actor)
    return respond({"awarded": awarded, "streak": streak, "balance": balance})
