"""The owner's API keys page in a real browser: create a key, copy it with the button (once), see it
listed as live, revoke it — and the key stops working."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import expect


def test_owner_creates_copies_and_revokes_an_api_key(new_page, sign_in_staff, screenshot, live_server):
    page = new_page("owner")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in_staff(page, "demo_owner")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="API 密钥").click()
    expect(page.get_by_role("heading", name="API 密钥", exact=True)).to_be_visible()

    page.get_by_label("名称").fill("ERP 正式环境")
    page.get_by_label(re.compile("查询卡与流水")).check()
    page.get_by_label(re.compile("核销、冲正")).check()
    page.get_by_role("button", name="创建密钥").click()
    key = page.locator("#new-api-key").inner_text().strip()
    assert re.fullmatch(r"kb_live_[A-Za-z0-9_-]{43}", key)
    page.get_by_role("button", name="复制").click()
    expect(page.get_by_role("button", name="已复制")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == key
    screenshot(page, "01-key-shown-once")

    def call_with_the_key() -> int:
        return requests.get(f"{live_server.url}/open/v1/cards?external_id=M1",
                            headers={"Authorization": f"Bearer {key}"}, timeout=5).status_code

    assert call_with_the_key() == 200

    page.goto("/console/api-keys")
    row = page.locator("tr[data-api-key]").filter(has_text="ERP 正式环境")
    expect(row).to_contain_text(key[:12])
    expect(row).to_contain_text("正式")
    expect(page.locator("#new-api-key")).to_have_count(0)
    screenshot(page, "02-listed")

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="吊销").click()
    expect(page.get_by_role("status").filter(has_text="已吊销")).to_be_visible()
    expect(row).to_contain_text("已吊销")
    screenshot(page, "03-revoked")
    assert call_with_the_key() == 401
