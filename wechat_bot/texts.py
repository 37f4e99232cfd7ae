"""What the official account says to parents (all user-facing text of the bot, in Chinese).

The results of check-ins live with the job that tells them (school_points.points.oa_checkins), so
a check-in answered in the request and one told later by a customer-service message read alike.
"""

from school_points.points.oa_checkins import NO_STUDENT  # noqa: F401 - one wording for both paths

HELP = (
    "可用指令：\n"
    "· 积分 —— 查看孩子的积分\n"
    "· 签到 —— 每日签到领积分\n"
    "· 打卡 内容 —— 记录今天的练习（也可以直接发图片）\n"
    "· 绑定 绑定码 —— 绑定孩子\n"
    "· 切换 孩子姓名 —— 切换当前孩子\n"
    "· 兑换记录 —— 查看最近的兑换\n"
    "· 推荐 —— 获取推荐二维码\n"
    "积分商城请点击下方菜单进入小程序。"
)

WELCOME = "欢迎关注！在这里可以查看孩子的积分、每日签到和练习打卡。\n\n" + HELP

BIND_USAGE = "请发送“绑定 绑定码”，例如：绑定 AB23CD45（绑定码请向老师索取）"
BOUND = "绑定成功！已绑定孩子：{name}。\n发送“积分”查看积分，发送“签到”每日签到。"
BOUND_VIA_SCENE = "已为您绑定孩子：{name}。"

SWITCH_USAGE = "请发送“切换 孩子姓名”，例如：切换 王小明。您已绑定：{names}"
SWITCHED = "已切换到：{name}。之后的签到和打卡都记在 {name} 名下。"
SWITCH_UNKNOWN = "没有找到名为“{name}”的孩子。您已绑定：{names}"

POINTS_LINE = "{name}：可用 {balance} 积分（累计 {lifetime}）"
POINTS_DEFAULT_MARK = "（当前）"
POINTS_LEVEL = "，等级 {level}"

SIGNED_IN = "签到成功！{name} 获得 {awarded} 积分，已连续签到 {streak} 天，当前 {balance} 积分。"
ALREADY_SIGNED_IN = "{name} 今天已经签到过了，明天再来吧。"

CHECKIN_USAGE = "请发送“打卡 今天练习的内容”，例如：打卡 练琴 30 分钟。也可以直接发送练习照片。"
CHECKIN_TOO_LONG = "打卡内容最多 {limit} 字，请精简后再发送。"

NO_REDEMPTIONS = "{name} 还没有兑换记录。可以点击菜单进入积分商城看看。"
REDEMPTIONS_TITLE = "{name} 最近的兑换："
REDEMPTION_LINE = "· {goods} ×{quantity}，{points} 积分，{status}（{time}）"
REDEMPTION_STATUS = {"pending": "待领取", "issued": "已发放", "cancelled": "已取消"}

REFERRAL = (
    "您的推荐码：{code}\n已推荐 {referred} 人，其中 {rewarded} 人已报名。\n"
    "新朋友扫码关注并绑定新报名的孩子后，您的孩子可获得推荐积分。"
)
REFERRAL_QR = "\n推荐二维码：{url}"
REFERRAL_QR_LATER = "\n推荐二维码暂时无法生成，请稍后再发送“推荐”。"

LINKED = "公众号已与小程序账号关联，之后的通知会发到这里。"
SCENE_FAILED = "二维码已失效或无效：{reason}"

UNKNOWN_COMMAND = "没有听懂您的意思。\n\n" + HELP
UNSUPPORTED_MESSAGE = "暂不支持这类消息。\n\n" + HELP
