"""The page in a real browser: Debian's Chromium driven by Playwright (headless, no download).

Types a question, waits for the streamed answer and its sources, saves a screenshot to
``test-artifacts/``; checks that a document containing ``<script>`` shows the text and runs
nothing; rates an answer with the thumbs and a comment; shows the page's labels in Chinese
and Korean. The first test uses the default llama.cpp backend when its model is cached.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from gradio.utils import get_upload_folder

from .conftest import ARTIFACTS, STAFF_PASSWORD, default_model_present

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium missing: apt-get install -y chromium")

QUESTION = "Which semiconductor fields does the China-ROK zone want to cooperate in?"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def chat_app(request):
    """The llama.cpp app when the model is cached (the real thing), else the extractive one."""
    return request.getfixturevalue("llm_app" if default_model_present() else "public_app")


@pytest.fixture
def open_page(browser, request):
    """Open the app in a fresh browser context; closed after the test (screenshot kept on failure)."""
    contexts = []

    def open_(url: str, locale: str = "en-US", address: str | None = None):
        """``address``: the client address the app sees (X-Forwarded-For, trusted from loopback)."""
        headers = {"X-Forwarded-For": address} if address else None
        context = browser.new_context(
            viewport={"width": 1200, "height": 1500}, locale=locale, extra_http_headers=headers
        )
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("#question textarea", timeout=60_000)
        wait_for_text(page, "#footer", "passages indexed", 180_000)  # start-up finished
        page.errors = errors
        return page

    yield open_
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for i, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for page in context.pages:
                page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}-{i}.png"), full_page=True)
        context.close()


def wait_for_text(page, selector: str, text: str, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel)?.innerText || '').includes(text)",
        arg=[selector, text],
        timeout=timeout_ms,
    )


def bot_messages(page):
    return page.locator("#chat .bot-row")


def ask_in_page(page, question: str, timeout_s: float = 300, times: dict | None = None) -> tuple[str, list[str]]:
    """Type and send a question; return the final text of the answer and the states seen.
    ``times`` gets the seconds from the click to the sources found (``found_s``, the collapsed
    block shown while the answer is written) and to the answer with its sources (``answer_s``)."""
    before = bot_messages(page).count()
    page.fill("#question textarea", question)
    started = time.monotonic()
    page.click("#send")
    seen: list[str] = []
    times = {} if times is None else times
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        if bot_messages(page).count() > before:
            text = bot_messages(page).last.inner_text()
            if text and (not seen or seen[-1] != text):
                seen.append(text)
            last = bot_messages(page).last
            if "found_s" not in times and last.locator(".rag-found").count():
                times["found_s"] = time.monotonic() - started
            if last.locator(".rag-source").count() or last.locator(".rag-note").count():
                times["answer_s"] = time.monotonic() - started
                break
        time.sleep(0.05)
    else:
        raise AssertionError(f"no answer with sources after {timeout_s} s; seen: {seen[-3:]}")
    time.sleep(0.5)  # let the last render settle
    final = bot_messages(page).last.inner_text()
    if final != seen[-1]:  # the sources may have come between reading the text and looking for them
        seen.append(final)
    return final, seen


def test_chat_streams_answer_with_sources_and_screenshot(open_page, chat_app):
    page = open_page(chat_app.url)
    assert page.locator("#send").inner_text().strip() == "Send"
    times: dict = {}
    text, seen = ask_in_page(page, QUESTION, times=times)
    assert len(seen) >= 2, f"no intermediate state was shown: {seen}"  # "Searching…", then the answer
    # the sources the search found are on screen while the model writes (time to sources: printed
    # and kept in test-artifacts/time-to-sources.json; the target lives in docs/benchmarks.md)
    print(f"time to sources {times.get('found_s')} s, to the answer {times['answer_s']:.2f} s ({chat_app.name})")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "time-to-sources.json").write_text(json.dumps({"app": chat_app.name, **times}), encoding="utf-8")
    if chat_app.name.startswith("llm"):
        assert "found_s" in times and times["found_s"] < times["answer_s"], (times, seen[:3])
    last = bot_messages(page).last
    sources = last.locator(".rag-source")
    assert sources.count() >= 1
    first = sources.first
    assert first.locator("a[href^='http']").count() == 1
    assert first.locator("a").get_attribute("target") == "_blank"
    assert first.locator("mark").count() >= 1  # the supporting sentence is highlighted
    assert "China-ROK" in first.inner_text()
    assert "Sources" in text and "[" in text.split("Sources")[0]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-answer.png"), full_page=True)
    assert not page.errors, page.errors


def test_document_markup_is_shown_never_run(open_page, public_app):
    page = open_page(public_app.url)
    page.evaluate("window.__ragPwned = undefined")
    text, _ = ask_in_page(page, "What rent subsidy does Lakeside Robotics Park offer to robotics start-ups?")
    chat = page.locator("#chat")
    assert "<script>window.__ragPwned = 1</script>" in chat.inner_text()
    assert "Lakeside <b>Robotics</b> notice" in chat.inner_text()
    assert chat.locator("script").count() == 0 and chat.locator("img[src='x']").count() == 0
    time.sleep(0.5)
    assert page.evaluate("window.__ragPwned") is None
    page.screenshot(path=str(ARTIFACTS / "escaped-document.png"), full_page=True)

    # a hostile question is shown as text too
    ask_in_page(page, '<img src=x onerror="window.__ragPwned=3"> Lakeside Robotics Park rent subsidy?')
    assert '<img src=x onerror="window.__ragPwned=3">' in chat.inner_text()
    assert page.evaluate("window.__ragPwned") is None
    assert not page.errors, page.errors


def test_thumbs_down_with_comment_is_stored(open_page, public_app):
    page = open_page(public_app.url)
    ask_in_page(page, "What does the Norman Bethune Center for Medical Sciences focus on?")
    bot_messages(page).last.hover()
    page.locator("#chat button[aria-label='Dislike']").last.click()
    page.wait_for_selector("#comment textarea", state="visible", timeout=60_000)
    page.wait_for_selector("#feedback-note :text('reviewed')", timeout=60_000)
    page.fill("#comment textarea", "Should name the biomedical fields. <b>bold?</b>")
    page.click("#comment-send")
    page.wait_for_selector("#feedback-note :text('comment was saved')", timeout=60_000)
    with sqlite3.connect(public_app.feedback_db) as db:
        row = db.execute("SELECT rating, comment, question, backend FROM feedback ORDER BY id DESC LIMIT 1").fetchone()
    assert row == (
        "down",
        "Should name the biomedical fields. <b>bold?</b>",
        "What does the Norman Bethune Center for Medical Sciences focus on?",
        "extractive",
    )

    # a new conversation empties the chat
    page.click("#clear")
    page.wait_for_function("document.querySelectorAll('#chat .bot-row').length === 0", timeout=60_000)
    assert not page.errors, page.errors


@pytest.mark.parametrize(
    "locale,send,intro", [("zh-CN", "发送", "长春投资助手"), ("ko-KR", "보내기", "창춘 투자 도우미")]
)
def test_page_labels_follow_the_browser_language(open_page, public_app, locale, send, intro):
    page = open_page(public_app.url, locale=locale)
    assert page.locator("#send").inner_text().strip() == send
    assert intro in page.locator("#intro").inner_text()


def test_staff_tab_lists_and_uploads(open_page, staff_app, tmp_path):
    page = open_page(staff_app.url)
    page.get_by_role("tab", name="Staff").click()
    page.fill("#staff-password input", "not the password")
    page.click("#staff-refresh")
    page.wait_for_selector("text=Wrong staff password", timeout=60_000)
    assert "china-rok" not in page.locator("#staff-documents").inner_text()

    page.fill("#staff-password input", STAFF_PASSWORD)
    page.click("#staff-refresh")
    wait_for_text(page, "#staff-documents", "china-rok-zone-industrial-layout.txt")
    documents = int(re.search(r"(\d+) documents", page.locator("#footer").inner_text()).group(1))

    doc = tmp_path / "Pier notes.md"
    doc.write_text("# Pier notes\n\nThe Pier Logistics Zone leases cold-storage warehouses to exporters.\n")
    page.locator("#staff-files input[type=file]").set_input_files(str(doc))
    wait_for_text(page, "#staff-files", "Pier notes.md")
    page.get_by_label("Title").fill("Pier Logistics Zone notes")
    page.click("#staff-upload")
    wait_for_text(page, "#staff-status", "Added Pier-notes.md", 180_000)
    wait_for_text(page, "#staff-documents", "Pier Logistics Zone notes")
    assert (staff_app.corpus_dir / "Pier-notes.md").is_file()
    wait_for_text(page, "#footer", f"{documents + 1} documents")  # the footer follows the re-index
    page.screenshot(path=str(ARTIFACTS / "staff-tab.png"), full_page=True)
    assert not page.errors, page.errors


STAFF_PARTS = ("#staff-documents", "#staff-files", "#staff-remove-choice")


def test_staff_mistakes_show_one_message_and_leave_the_tab_as_it_was(open_page, staff_app):
    """Upload pressed with no file chosen, then a wrong password: the status line says so; the
    document list, the file box and the remove list keep what they showed (no red "Error")."""
    page = open_page(staff_app.url)
    page.get_by_role("tab", name="Staff").click()
    page.fill("#staff-password input", STAFF_PASSWORD)
    page.click("#staff-refresh")
    wait_for_text(page, "#staff-documents", "china-rok-zone-industrial-layout.txt")
    before = {sel: page.locator(sel).inner_text() for sel in STAFF_PARTS}

    page.click("#staff-upload")
    wait_for_text(page, "#staff-status", "Choose one or more files to upload.")
    time.sleep(1.0)
    assert {sel: page.locator(sel).inner_text() for sel in STAFF_PARTS} == before
    assert "Error" not in page.locator("#staff-status").inner_text()

    page.fill("#staff-password input", "not the password")
    page.click("#staff-refresh")
    page.wait_for_selector("text=Wrong staff password", timeout=60_000)
    time.sleep(1.0)
    assert {sel: page.locator(sel).inner_text() for sel in STAFF_PARTS} == before
    page.screenshot(path=str(ARTIFACTS / "staff-mistakes.png"), full_page=True)
    assert not page.errors, page.errors


def test_files_chosen_before_the_staff_password_are_refused_with_a_message(open_page, staff_app, tmp_path):
    page = open_page(staff_app.url, address="192.0.2.150")  # an address that never gave the password
    page.get_by_role("tab", name="Staff").click()
    doc = tmp_path / f"early-{uuid.uuid4().hex[:8]}.md"
    doc.write_text("# Early\n\nChosen before the password was given.\n")
    page.locator("#staff-files input[type=file]").set_input_files(str(doc))
    page.wait_for_selector("text=press 'Show documents' before choosing files", timeout=60_000)
    assert not list(Path(get_upload_folder()).glob(f"*/{doc.name}"))


EVIL = "https://evil.example"
CR_DOCUMENT = (
    "Quayside Tooling Park notice\r\rQuayside Tooling Park offers toolmakers free workshop space for one year.\r\r"
    f"![pixel]({EVIL}/pixel.png)\r\r[Apply now]({EVIL}/apply)\r\r"
    "Quayside Tooling Park also runs a training centre for toolmakers.\r"
)


def test_markdown_in_a_document_stays_text(open_page, staff_app, tmp_path):
    """A document with carriage-return-only line breaks and a markdown image and link: the passage
    is shown as text; no <img> loads from it and no link from it is rendered."""
    from gradio_client import handle_file

    name = f"quayside-{uuid.uuid4().hex[:8]}.txt"
    (tmp_path / name).write_bytes(CR_DOCUMENT.encode("utf-8"))
    client = staff_app.client()
    client.predict(STAFF_PASSWORD, api_name="/admin_list")
    *_, message, _footer, _files = client.predict(
        STAFF_PASSWORD, [handle_file(str(tmp_path / name))], "", "", "", "", False, api_name="/admin_upload"
    )
    assert f"Added {name}" in message
    try:
        page = open_page(staff_app.url)
        ask_in_page(page, "What does Quayside Tooling Park offer to toolmakers?")
        last = bot_messages(page).last
        assert "Quayside Tooling Park" in last.locator(".rag-source, .rag-note").first.inner_text()
        assert f"![pixel]({EVIL}/pixel.png)" in last.inner_text()  # shown as the text it is
        assert page.locator(f"#chat img[src^='{EVIL}']").count() == 0
        assert page.locator(f"#chat a[href^='{EVIL}']").count() == 0
        page.screenshot(path=str(ARTIFACTS / "markdown-in-document.png"), full_page=True)
        assert not page.errors, page.errors
    finally:
        client.predict(STAFF_PASSWORD, name, api_name="/admin_remove")


TAX_EN = "What is the corporate income tax rate in the China-ROK zone?"
TAX_ZH = "中韩示范区的企业所得税税率是多少？"
BETHUNE_Q = "What does the Norman Bethune Center for Medical Sciences work on?"
BETHUNE_PARAPHRASE = "What research areas does the Norman Bethune Center for Medical Sciences focus on?"
REVIEWED = "Reviewed by zone staff"


def _staff_section(page, section: str, name: str) -> None:
    """Open the staff tab's accordion ``section`` (its elem_id) by its label."""
    page.locator(f"#{section}").get_by_text(name, exact=True).first.click()


def _new_conversation(page) -> None:
    page.click("#clear")
    page.wait_for_function("document.querySelectorAll('#chat .bot-row').length === 0", timeout=60_000)


def _log_id(table: str, question: str) -> str:
    """The id of ``question``'s row in the log table's text (one cell a line; an empty cell has none)."""
    lines = table.splitlines()
    at = lines.index(question)
    when = next(i for i in range(at, 0, -1) if re.fullmatch(r"\d{4}-\d{2}-\d{2} [\d:]+", lines[i]))
    return lines[when - 1].strip()


def test_staff_see_the_log_and_the_gaps_and_answer_once(open_page, insight_app, tmp_path):
    """Issue 20 walked in the browser: investors ask (two unanswerable questions on one topic in two
    languages, one answerable); the log lists them, the gap report groups the two, usage is drawn;
    staff curate the answerable one from the log; a paraphrase gets it marked as reviewed by staff;
    editing the cited document suspends it, and the paraphrase gets the usual answer again."""
    page = open_page(insight_app.url)
    for question in (TAX_EN, TAX_ZH):
        ask_in_page(page, question)
    bot_messages(page).last.hover()  # a thumbs down reaches the question's log entry
    page.locator("#chat button[aria-label='Dislike']").last.click()
    wait_for_text(page, "#feedback-note", "这条回答将被复核")  # thanked in the question's language
    _new_conversation(page)  # only a first question is answered from curated answers: this one is curated below
    ask_in_page(page, BETHUNE_Q)

    page.get_by_role("tab", name="Staff").click()
    page.fill("#staff-password input", STAFF_PASSWORD)
    _staff_section(page, "staff-log-section", "Question log")
    page.click("#staff-show-log")
    wait_for_text(page, "#staff-log", BETHUNE_Q)
    assert TAX_ZH in page.locator("#staff-log").inner_text()
    entry_id = _log_id(page.locator("#staff-log").inner_text(), BETHUNE_Q)
    assert entry_id.isdigit()

    _staff_section(page, "staff-gaps-section", "What the documents miss")
    page.click("#staff-find-gaps")
    wait_for_text(page, "#staff-gaps", "2 questions (en 1, zh 1)")
    assert "(zh, abstained · rated down)" in page.locator("#staff-gaps").inner_text()
    gaps = page.locator("#staff-gaps").inner_text()
    assert TAX_EN in gaps and TAX_ZH in gaps and "Nearest passages" in gaps
    wait_for_text(page, "#staff-gaps-csv", ".csv")
    wait_for_text(page, "#staff-gaps-jsonl", ".jsonl")

    _staff_section(page, "staff-usage-section", "Usage at a glance")
    page.click("#staff-show-usage")
    wait_for_text(page, "#staff-usage", "Thumbs up 0, down 1")
    assert "3 questions" in page.locator("#staff-usage").inner_text()

    _staff_section(page, "staff-probe-section", "Retrieval test")
    page.fill("#staff-probe-question textarea", TAX_ZH)
    page.click("#staff-probe")
    wait_for_text(page, "#staff-probe-result", "Evidence gate")
    assert "fails" in page.locator("#staff-probe-result").inner_text()

    _staff_section(page, "staff-curated-section", "Answer it once")
    page.fill("#staff-curate-id input", entry_id)
    page.click("#staff-curate-load")
    wait_for_text(page, "#staff-curate-status", f"Loaded log entry {entry_id}")
    assert "[1]" in page.locator("#staff-curate-en textarea").input_value()
    page.click("#staff-curate-save")
    wait_for_text(page, "#staff-curate-status", "Saved curated answer #")
    wait_for_text(page, "#staff-curated", BETHUNE_Q)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff-insight.png"), full_page=True)
    for section in ("gaps", "usage", "curated", "probe"):  # README's staff section shows these (docs/)
        page.locator(f"#staff-{section}-section").screenshot(path=str(ARTIFACTS / f"staff-{section}.png"))

    # a paraphrase gets the curated answer, marked as reviewed; the pipeline's time is recorded
    page.get_by_role("tab", name="Ask").click()
    _new_conversation(page)
    text, _ = ask_in_page(page, BETHUNE_PARAPHRASE)
    assert REVIEWED in text
    record = insight_app.client().submit(BETHUNE_PARAPHRASE, api_name="/ask").result(timeout=120)[2]
    assert record["curated"] and record["outcome"] == "curated"
    (ARTIFACTS / "curated-answer.json").write_text(json.dumps({"timings_ms": record["timings_ms"]}))
    print(f"curated answer in {record['timings_ms']['total']:.1f} ms (pipeline time, extractive app)")

    # staff edit the cited document: the curated answer is suspended, the paraphrase answered anew
    page.get_by_role("tab", name="Staff").click()
    doc = tmp_path / "jingyue-bethune-center-visit.txt"
    original = (insight_app.corpus_dir / doc.name).read_text(encoding="utf-8")
    doc.write_text(original + "\nThe center opened a new laboratory in 2023.\n", encoding="utf-8")
    page.locator("#staff-files input[type=file]").set_input_files(str(doc))
    wait_for_text(page, "#staff-files", doc.name)
    page.get_by_label("Replace a document of the same name").check()
    page.click("#staff-upload")
    wait_for_text(page, "#staff-status", f"Added {doc.name}", 180_000)
    page.click("#staff-show-curated")
    wait_for_text(page, "#staff-curated", "suspended")
    assert "jingyue-bethune-center-visit.txt changed" in page.locator("#staff-curated").inner_text()
    page.get_by_role("tab", name="Ask").click()
    _new_conversation(page)
    text, _ = ask_in_page(page, BETHUNE_PARAPHRASE)
    assert REVIEWED not in text
    assert not page.errors, page.errors
