"""The API reference renders in a browser with nothing but this server: every request to another host
is blocked (and fails the test), yet Swagger UI shows the document's operations and security schemes."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect


def test_swagger_ui_renders_offline_and_links_the_guide(new_page, live_server, screenshot):
    page = new_page("integrator")
    own_host = urlsplit(live_server.url).netloc
    foreign: list[str] = []

    def only_this_server(route):
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kabao API")
    expect(page.locator(".opblock-summary-path", has_text="/open/v1/redemptions").first).to_be_visible()
    expect(page.locator("button.authorize")).to_be_visible()
    screenshot(page, "reference")
    page.get_by_role("link", name="接入指南（中文）").click()
    expect(page.locator("h1")).to_contain_text("接入指南")
    expect(page.locator("pre", has_text="kabao_signature_ok")).to_be_visible()
    screenshot(page, "guide")
    assert not foreign, foreign
