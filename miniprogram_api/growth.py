"""Growth records (成长记录/打卡): posting, listing, the shareable view, likes and shares."""

from flask import g

from school_points.people import guardians
from school_points.points import growth
from webkit.pagination import page
from webkit.responses import respond

from . import bp, schemas
from .kit import api, load_body, load_query, request_key
from .presenters import records_out
from .queries import growth_page
from .uploads import check_media


@bp.post("/growth-records")
@api(
    "发布成长记录 / 练习打卡（每天前几次打卡得积分）",
    body=schemas.GrowthIn,
    out=schemas.GrowthCreatedOut,
    status=201,
    idempotent=True,
    tags=["成长记录"],
    errors={422: ["invalid_media"]},
    description="media 必须是本人通过 POST /uploads 上传、原样返回的图片地址；其他地址（别的域名、"
    "javascript:、data:、相对路径、他人的图片、不存在的文件）返回 422 invalid_media。",
)
def create_record():
    data = load_body(schemas.GrowthIn)
    data["media"] = check_media([url.strip() for url in data["media"]])
    record, awarded = growth.post_record(g.user, data["student_id"], data["content"], data["media"], key=request_key())
    return respond({"record": records_out([record], g.user)[0], "awarded": awarded}, 201)


@bp.get("/growth-records")
@api("学员的成长记录（新的在前）", query=schemas.GrowthQuery, out=schemas.GrowthPage, tags=["成长记录"])
def list_records():
    args = load_query(schemas.GrowthQuery)
    guardians.guardian_student(g.user, args["student_id"])
    records, next_cursor = growth_page(args["student_id"], args["limit"], args["cursor"])
    return respond(page(records_out(records, g.user), next_cursor))


@bp.get("/growth-records/<int:rid>")
@api("分享页：任何登录用户可看，只显示学员的名（不含姓与联系方式）", out=schemas.GrowthRecordOut, tags=["成长记录"])
def shared_record(rid):
    return respond(records_out([growth.get_record(rid)], g.user)[0])


@bp.delete("/growth-records/<int:rid>")
@api("删除成长记录（当天的打卡积分收回）", out=schemas.DeletedOut, tags=["成长记录"])
def delete_record(rid):
    growth.delete_record(g.user, rid)
    return respond({"id": rid, "deleted": True})


@bp.post("/growth-records/<int:rid>/likes")
@api(
    "点赞（每人每条一次；学员自己的家长点赞不得分）",
    out=schemas.LikeOut,
    idempotent=True,
    tags=["成长记录"],
    errors={429: ["rate_limited"]},
)
def like(rid):
    liked, like_count, awarded = growth.like_record(g.user, rid)
    return respond({"liked": liked, "like_count": like_count, "awarded": awarded})


@bp.post("/growth-records/<int:rid>/shares")
@api("记录一次分享（家长）", out=schemas.ShareOut, idempotent=True, tags=["成长记录"])
def share(rid):
    return respond({"awarded": growth.share_record(g.user, rid, key=request_key())})
