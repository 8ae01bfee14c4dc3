"""The chat embedded in another website (issue 21), in a real browser (Debian's Chromium, Playwright).

A static page served from another loopback port (``host_sites.allowed``, which the app allows)
carries the one-line snippet; the test opens the chat from its button, asks a question in the
frame and sees the answer with its ``[n]`` markers and its sources panel; reloads the host page and
finds the conversation still there; the labels follow the host page's language. The same page on
a port the app does not allow (``host_sites.other``) cannot frame the chat: the browser refuses it
by the app's ``Content-Security-Policy: frame-ancestors``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import ARTIFACTS

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium missing: apt-get install -y chromium")

QUESTION = "Which semiconductor fields does the China-ROK zone want to cooperate in?"
HOST_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Zone website</title></head>
<body><h1>Investment zone</h1><p>Our news and policies.</p>
{snippet}
</body></html>
"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        yield b
        b.close()


@pytest.fixture
def host_page(api_app, host_sites, browser, request):
    """Write the host site's pages (English and Chinese) with the snippet; open one in a new context."""
    snippet = f'<script src="{api_app.url}embed.js" defer></script>'
    for name, lang in (("index.html", "en"), ("zh.html", "zh-CN")):
        (host_sites.folder / name).write_text(HOST_PAGE.format(lang=lang, snippet=snippet), encoding="utf-8")
    contexts = []

    def open_(url: str):
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.console = []
        page.on("console", lambda m: page.console.append(m.text))
        page.goto(url)
        page.wait_for_selector("#rag-chat-button")
        return page

    yield open_
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for i, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for page in context.pages:
                page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}-{i}.png"))
        context.close()


def test_the_embedded_chat_answers_with_sources_and_keeps_the_conversation(host_page, host_sites):
    page = host_page(host_sites.allowed + "/index.html")
    page.click("#rag-chat-button")
    frame = page.frame_locator("#rag-chat-frame")
    frame.locator("#question textarea").fill(QUESTION)
    frame.locator("#send").click()
    answer = frame.locator("#chat .bot-row").last
    answer.locator(".rag-source").first.wait_for(timeout=60_000)
    time.sleep(0.5)  # the last render settles
    text = answer.inner_text()
    assert "[1]" in text or "[2]" in text
    source = answer.locator(".rag-source").first
    assert source.locator("a[href^='http']").count() == 1 and source.locator("mark").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "embedded-chat.png"))

    page.reload()  # the host site's next page load: the chat opens again, with the conversation
    frame = page.frame_locator("#rag-chat-frame")
    frame.locator("#chat .bot-row .rag-source").first.wait_for(timeout=30_000)
    assert QUESTION in frame.locator("#chat").inner_text()
    frame.locator("#clear").click()
    page.wait_for_timeout(1000)
    page.reload()
    page.frame_locator("#rag-chat-frame").locator("#question textarea").wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    assert QUESTION not in page.frame_locator("#rag-chat-frame").locator("#chat").inner_text()


def test_the_embedded_chat_follows_the_host_page_language(host_page, host_sites):
    page = host_page(host_sites.allowed + "/zh.html")
    assert page.locator("#rag-chat-button").inner_text() == "投资咨询助手"
    page.click("#rag-chat-button")
    assert "lang=zh" in page.locator("#rag-chat-frame").get_attribute("src")
    send = page.frame_locator("#rag-chat-frame").locator("#send")
    page.wait_for_function(
        "() => document.querySelector('#rag-chat-frame').contentDocument === null"  # cross-origin: not readable
    )
    deadline = time.monotonic() + 30
    while send.inner_text().strip() != "发送" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert send.inner_text().strip() == "发送"


def test_a_site_not_allowed_cannot_embed_the_chat(host_page, host_sites):
    page = host_page(host_sites.other + "/index.html")
    page.click("#rag-chat-button")
    deadline = time.monotonic() + 15
    while not any("frame-ancestors" in m for m in page.console) and time.monotonic() < deadline:
        page.wait_for_timeout(200)  # (Playwright delivers the console's messages while it waits)
    assert any("frame-ancestors" in m for m in page.console), page.console
    assert page.frame_locator("#rag-chat-frame").locator("#question").count() == 0
