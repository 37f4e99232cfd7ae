"""QR codes the official account made for us and that we keep (WeChat's permanent codes are limited)."""

from sqlalchemy.orm import Mapped, mapped_column

from school_points.platform.columns import AwareDateTime
from school_points.platform.extensions import db


class OaSceneQr(db.Model):
    """The permanent string-scene QR code of one scene (`bind_<code>`), fetched from WeChat once.

    A row is first a claim (`content` NULL, `claim_token` naming the request fetching it), then
    the result: `content` is what the code encodes (WeChat's `url`, e.g. http://weixin.qq.com/q/...),
    which the sheets draw themselves. A claim older than the fetch could take may be taken over.
    """

    __tablename__ = "oa_scene_qr"
    scene: Mapped[str] = mapped_column(db.String(64), primary_key=True)
    content = mapped_column(db.String(255), nullable=True)
    ticket = mapped_column(db.String(255), nullable=True)
    claim_token = mapped_column(db.String(32), nullable=True)
    claimed_at = mapped_column(AwareDateTime, nullable=False)
    fetched_at = mapped_column(AwareDateTime, nullable=True)
