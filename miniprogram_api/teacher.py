"""The teacher's side: classes, behaviours, evaluating a class, handing out orders."""

from flask import g

from school_points.mall import redemption
from school_points.points import evaluation
from school_points.school.settings import get_settings
from webkit.pagination import page
from webkit.responses import respond

from . import bp, schemas
from .kit import api, dump, load_body, load_query, request_key
from .presenters import accounts_of, redemption_out
from .queries import campus_redemptions_page, class_rosters

TEACHER = {403: ["not_a_teacher"]}


@bp.get("/teacher/classes")
@api("我的班级：学员与积分", auth="teacher", out=schemas.TeacherClassesOut, tags=["老师"], errors=TEACHER)
def classes():
    rosters = class_rosters(g.teacher)
    accounts = accounts_of({sid for _, students in rosters for sid, _ in students})
    items = [
        {
            "id": klass.id,
            "name": klass.name,
            "students": [
                {
                    "id": sid,
                    "name": name,
                    "balance": accounts.get(sid, (0, 0))[0],
                    "lifetime_points": accounts.get(sid, (0, 0))[1],
                }
                for sid, name in students
            ],
        }
        for klass, students in rosters
    ]
    return respond(dump(schemas.TeacherClassesOut, {"items": items}))


@bp.get("/teacher/behaviors")
@api("评价项目、自定义分上限、今日额度", auth="teacher", out=schemas.BehaviorsOut, tags=["老师"], errors=TEACHER)
def behaviors():
    rules = get_settings()["evaluation"]
    budget = int(rules["teacher_daily_budget"])
    left = evaluation.teacher_budget_left(g.teacher)
    return respond(
        dump(
            schemas.BehaviorsOut,
            {
                "behaviors": rules["behaviors"],
                "max_custom_points": rules["max_custom_points"],
                "daily_budget": budget,
                "used_today": max(0, budget - left),
            },
        )
    )


@bp.post("/teacher/evaluations")
@api(
    "课堂评价：一次请求评价多名学员（只能是自己班级的学员）",
    auth="teacher",
    body=schemas.EvaluationIn,
    out=schemas.EvaluationOut,
    status=201,
    idempotent=True,
    tags=["老师"],
    errors={403: ["not_a_teacher", "forbidden"], 409: ["budget_exceeded"]},
)
def evaluate():
    data = load_body(schemas.EvaluationIn)
    entries = evaluation.evaluate(
        g.teacher,
        data["student_ids"],
        behavior_id=data["behavior_id"],
        points=data["points"],
        comment=data["comment"],
        key=request_key(),
    )
    awarded = [{"student_id": e.student_id, "points": e.delta, "balance": e.balance_after} for e in entries]
    return respond({"awarded": awarded, "total_points": sum(a["points"] for a in awarded)}, 201)


@bp.post("/teacher/redemptions/verify")
@api(
    "扫描提货码发放",
    auth="teacher",
    body=schemas.PickupIn,
    out=schemas.RedemptionOut,
    idempotent=True,
    tags=["老师"],
    errors={403: ["not_a_teacher", "forbidden"], 404: ["not_found"], 409: ["already_issued", "order_not_pending"]},
)
def verify_pickup():
    data = load_body(schemas.PickupIn)
    order = redemption.issue_by_pickup_code(g.teacher, data["pickup_code"])
    return respond(redemption_out(order, with_pickup_code=False))


@bp.get("/teacher/redemptions")
@api(
    "本校区的订单（默认待发放）",
    auth="teacher",
    query=schemas.TeacherRedemptionQuery,
    out=schemas.RedemptionPage,
    tags=["老师"],
    errors=TEACHER,
)
def campus_orders():
    args = load_query(schemas.TeacherRedemptionQuery)
    orders, next_cursor = campus_redemptions_page(g.teacher.campus_id, args["status"], args["limit"], args["cursor"])
    return respond(page([redemption_out(o, with_pickup_code=False) for o in orders], next_cursor))
