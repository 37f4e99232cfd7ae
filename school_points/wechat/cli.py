"""`flask --app wsgi wechat ...`: official-account setup commands (README.md)."""

import json
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from school_points.platform.errors import DomainError
from school_points.wechat import clients

wechat_cli = AppGroup("wechat", help="Official-account setup.")

MALL_PAGE = "pages/mall/index"


def build_menu(mall_page=MALL_PAGE) -> dict[str, Any]:
    """The official account's menu: points actions, the mall (mini-program page), more."""
    return {
        "button": [
            {
                "name": "我的积分",
                "sub_button": [
                    {"type": "click", "name": "查积分", "key": "POINTS"},
                    {"type": "click", "name": "每日签到", "key": "SIGNIN"},
                    {"type": "click", "name": "练习打卡", "key": "CHECKIN"},
                    {"type": "click", "name": "兑换记录", "key": "REDEMPTIONS"},
                ],
            },
            mall_button(mall_page),
            {
                "name": "更多",
                "sub_button": [
                    {"type": "click", "name": "推荐有礼", "key": "REFERRAL"},
                    {"type": "click", "name": "绑定孩子", "key": "BIND"},
                    {"type": "click", "name": "使用帮助", "key": "HELP"},
                ],
            },
        ]
    }


def mall_button(mall_page) -> dict[str, str]:
    """The mall entry: the mini-program's mall page (a web page where no mini-program is set)."""
    config = current_app.config
    fallback = config.get("PUBLIC_BASE_URL") or "https://mp.weixin.qq.com"
    if config.get("WECHAT_MP_APP_ID"):
        return {
            "type": "miniprogram",
            "name": "积分商城",
            "url": fallback,
            "appid": config["WECHAT_MP_APP_ID"],
            "pagepath": mall_page,
        }
    return {"type": "view", "name": "积分商城", "url": fallback}


@wechat_cli.command("menu")
@click.option("--mall-page", default=MALL_PAGE, show_default=True, help="Mini-program page of the mall.")
@click.option("--dry-run", is_flag=True, help="Print the menu without sending it to WeChat.")
def menu_command(mall_page, dry_run) -> None:
    """Create the official account's menu (with the points mall entry)."""
    menu = build_menu(mall_page)
    if dry_run:
        click.echo(json.dumps(menu, ensure_ascii=False, indent=2))
        return
    try:
        clients.call(clients.oa_client(), lambda client: client.menu.create(menu))
    except DomainError as exc:
        raise click.ClickException(f"菜单创建失败：{exc.message} {exc.details or ''}".strip()) from None
    mall_target = mall_page if menu["button"][1]["type"] == "miniprogram" else menu["button"][1]["url"]
    click.echo(f"official-account menu created (积分商城 → {mall_target})")
