"""`flask wechat menu` creates the official account's menu with the mall entry."""

import json

from school_points.wechat.cli import wechat_cli


def test_menu_is_created_with_the_mall_entry(app, fake_wechat):
    result = app.test_cli_runner().invoke(wechat_cli, ["menu"])
    assert result.exit_code == 0, result.output
    menu = fake_wechat.calls("/cgi-bin/menu/create")[0].json
    mall = menu["button"][1]
    assert mall["name"] == "积分商城" and mall["type"] == "miniprogram"
    assert mall["appid"] == "wx-mp-test" and mall["pagepath"] == "pages/mall/index"
    keys = {b["key"] for top in menu["button"] for b in top.get("sub_button", []) if b["type"] == "click"}
    assert {"POINTS", "SIGNIN", "CHECKIN", "REDEMPTIONS", "REFERRAL", "BIND", "HELP"} == keys


def test_menu_click_keys_are_all_handled():
    from flask import Flask

    from school_points.wechat.cli import build_menu
    from wechat_bot.dispatch import CLICK_COMMANDS

    app = Flask(__name__)
    with app.app_context():
        menu = build_menu()
    keys = {b["key"] for top in menu["button"] for b in top.get("sub_button", []) if b["type"] == "click"}
    assert keys <= set(CLICK_COMMANDS)


def test_menu_failure_is_reported_not_raised(app, fake_wechat):
    fake_wechat.script("/cgi-bin/menu/create", 40018)
    result = app.test_cli_runner().invoke(wechat_cli, ["menu"])
    assert result.exit_code == 1 and "菜单创建失败" in result.output


def test_menu_without_credentials_says_so(app):
    result = app.test_cli_runner().invoke(wechat_cli, ["menu"])
    assert result.exit_code == 1 and "未配置" in result.output


def test_dry_run_prints_the_menu(app):
    result = app.test_cli_runner().invoke(wechat_cli, ["menu", "--dry-run"])
    assert result.exit_code == 0 and json.loads(result.output)["button"][1]["name"] == "积分商城"
