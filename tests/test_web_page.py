"""The chat page end to end: Debian's Chromium driven by Playwright against the real server.

Screenshots go to tests/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

SHOTS = Path(__file__).parent / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SEED = "鹿泉区2024年电子信息产业目标是多少"


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server):
    """A fresh tab (own storage) on the chat page; fails the test on any script error or CSP violation.

    Failed requests are left to the tests (the error test makes some on purpose)."""
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    problems = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on("console", lambda msg: problems.append(msg.text)
           if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    tab.goto(server.url)
    yield tab
    context.close()
    assert not problems, problems


def ask(page: Page, question: str):
    """Type a question, press Enter, and return the locator of its answer once it has arrived."""
    count = page.locator(".turn").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    answer = page.locator(".turn").nth(count).locator(".answer")
    expect(answer.locator(".took, .verdict").first).to_be_visible(timeout=30_000)
    return answer


def test_seed_question_highlights_answer_and_shows_both_dates(page):
    answer = ask(page, SEED)
    assert any("1100亿元" in text for text in answer.locator("mark").all_inner_texts())
    expect(answer).to_contain_text("2024-09-02")
    expect(answer).to_contain_text("2023-12-22")
    expect(page.locator(".turn .question p")).to_have_text(SEED)
    expect(page.locator("#question")).to_have_value("")  # the box is cleared for the next question
    page.screenshot(path=SHOTS / "seed-question.png", full_page=True)


def test_citation_opens_article_at_the_cited_paragraph(page):
    answer = ask(page, SEED)
    link = answer.locator(".cite-title a").first
    title = link.inner_text().strip()[:6]  # the first cited article (either report of the conflicting values)
    paragraph = re.search(r"[?&]p=(\d+)", link.get_attribute("href")).group(1)
    link.click()
    page.wait_for_url(re.compile(r"/articles/"))
    cited = page.locator(".para.cited")
    expect(cited).to_have_count(1)
    expect(cited).to_have_attribute("id", f"p-{paragraph}")
    expect(cited).to_be_in_viewport()
    expect(cited.locator("mark")).to_contain_text("亿元")  # 1100亿元 or 1000亿元: the two reports conflict
    expect(page.locator("h1")).to_contain_text(title)
    page.screenshot(path=SHOTS / "article.png")
    page.go_back()  # the conversation survives the round trip
    expect(page.locator(".turn .question p")).to_have_text(SEED)


def test_unanswerable_question_says_not_found(page):
    answer = ask(page, "石家庄2030年GDP目标是多少")
    expect(answer.locator(".verdict")).to_contain_text("语料中没有找到答案")
    expect(answer.locator(".explain")).to_be_visible()
    expect(answer.locator("mark")).to_have_count(0)
    page.screenshot(path=SHOTS / "not-found.png", full_page=True)


def test_follow_up_sends_history(page):
    first = "2023年新一代电子信息产业营业收入是多少"
    ask(page, first)
    with page.expect_request(re.compile(r"/ask$")) as sent:
        answer = ask(page, "那生物医药呢？")
    history = sent.value.post_data_json["history"]
    assert [turn["question"] for turn in history] == [first]
    assert "1174亿元" in history[0]["answer"]
    expect(answer.locator("mark").first).to_contain_text("1078.6亿元")  # the reader marks the 分别 list
    expect(answer.locator(".note")).to_contain_text("生物医药")  # how the follow-up was understood
    page.screenshot(path=SHOTS / "follow-up.png", full_page=True)


def test_markup_in_a_question_is_shown_as_text(page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    question = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    ask(page, question)
    expect(page.locator(".turn .question p")).to_have_text(question)
    assert page.locator("#conversation script, #conversation img").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []


def test_example_question_shows_conflicting_values_newest_first(page):
    page.locator("button.example", has_text="鹿泉区2024年电子信息产业目标是多少").click()
    answer = page.locator(".turn .answer").first
    values = answer.locator(".values > li")
    expect(values.first).to_be_visible(timeout=30_000)
    expect(answer.locator(".verdict")).to_contain_text("说法不一")
    expect(values).to_have_count(2)  # one card per value, its articles listed under it
    expect(values.nth(0).locator("mark")).to_have_text("1100亿元")
    expect(values.nth(0).locator("time")).to_have_text(["2024-09-02"])
    expect(values.nth(1).locator("mark")).to_have_text("1000亿元")
    expect(values.nth(1)).to_contain_text("2023-12-22")
    page.screenshot(path=SHOTS / "conflict.png", full_page=True)


def test_shift_enter_is_a_new_line_and_errors_read_clearly(page):
    page.fill("#question", "第一行")
    page.press("#question", "Shift+Enter")
    page.type("#question", "第二行")
    expect(page.locator("#question")).to_have_value("第一行\n第二行")
    assert page.locator(".turn").count() == 0
    # A real 422 from the API: lift the box's own length limit and send 2001 characters.
    page.eval_on_selector("#question", "box => box.removeAttribute('maxlength')")
    answer = ask(page, "问" * 2001)
    expect(answer).to_contain_text("HTTP 422")
    expect(answer).to_contain_text("longer than 2000")
    # The server unreachable: the request fails and the page says so instead of spinning.
    page.route(re.compile(r"/ask$"), lambda route: route.abort())
    answer = ask(page, SEED)
    expect(answer).to_contain_text("无法连接服务器")
    expect(page.locator("#send")).to_be_enabled()
    page.screenshot(path=SHOTS / "errors.png", full_page=True)


def test_phone_width_has_no_horizontal_scroll(browser, server):
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True)
    phone = context.new_page()
    phone.goto(server.url)
    ask(phone, "What is Luquan's 2024 revenue target for the electronic information industry?")
    answer = ask(phone, SEED)
    answer.locator(".toggle").first.click()  # a passage opened in full must still fit
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    answer.scroll_into_view_if_needed()
    phone.screenshot(path=SHOTS / "phone-chat.png")
    answer.locator(".cite-title a").first.click()
    expect(phone.locator(".para.cited")).to_be_in_viewport()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.screenshot(path=SHOTS / "phone-article.png")
    context.close()


@pytest.fixture(scope="module")
def keyed_server(settings, engine):
    from web.app import create_app

    with LiveServer(create_app(settings.model_copy(update={"api_key": "k"}), engine)) as live:
        yield live


def test_api_key_is_asked_for_once_and_kept(browser, keyed_server):
    context = browser.new_context(viewport={"width": 900, "height": 800})
    tab = context.new_page()
    tab.goto(keyed_server.url)
    tab.fill("#question", SEED)
    tab.press("#question", "Enter")
    expect(tab.locator("#key-form")).to_be_visible()
    expect(tab.locator("#ask-form")).to_be_hidden()
    tab.fill("#api-key", "wrong")
    tab.press("#api-key", "Enter")
    expect(tab.locator("#key-note")).to_contain_text("密钥无效")
    tab.screenshot(path=SHOTS / "api-key.png")
    tab.fill("#api-key", "k")
    tab.press("#api-key", "Enter")
    expect(tab.locator(".turn .answer mark").first).to_contain_text("1100亿元")
    assert tab.evaluate("localStorage.getItem('rag-api-key')") == "k"
    tab.reload()  # the key is remembered: the next question goes straight through
    answer = ask(tab, "石家庄国际生物医药园占地多少亩")
    expect(answer.locator("mark").first).to_be_visible()
    expect(tab.locator("#key-form")).to_be_hidden()
    context.close()


def test_api_docs_render_offline(page, server):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{server.url}/docs")
    expect(page.locator(".opblock-summary-path", has_text="/ask").first).to_be_visible(timeout=15000)
    assert not [e for e in errors if "Content Security Policy" in e]
    page.screenshot(path=SHOTS / "docs.png")


def test_a_written_answer_streams_in_and_is_replaced_by_the_checked_text(browser, settings, engine):
    from web.app import create_app

    from tests.scripted_llm import scripted_llm

    llm, _ = scripted_llm("鹿泉区2024年的目标是突破1100亿元[1]，2023年底提出的是1000亿元[3][8]。", piece=0.15)
    with LiveServer(llm) as fake:
        writing = settings.model_copy(update={"llm_base_url": f"{fake.url}/v1", "llm_model": "m"})
        with LiveServer(create_app(writing, engine)) as live:
            context = browser.new_context(viewport={"width": 1000, "height": 900})
            tab = context.new_page()
            problems = []
            tab.on("pageerror", lambda error: problems.append(str(error)))
            tab.goto(live.url)
            tab.fill("#question", SEED)
            tab.press("#question", "Enter")
            expect(tab.locator(".written.streaming")).to_be_visible(timeout=30_000)  # shown while it is written
            tab.screenshot(path=SHOTS / "writer-streaming.png")
            written = tab.locator(".written:not(.streaming) .written-text")
            expect(written).to_have_text("鹿泉区2024年的目标是突破1100亿元[1]，2023年底提出的是1000亿元[3]。", timeout=30_000)
            expect(tab.locator(".turn .answer .cite")).not_to_have_count(0)  # the sources stay under it
            tab.screenshot(path=SHOTS / "writer-done.png", full_page=True)
            tab.reload()  # the checked text is kept with the conversation
            expect(tab.locator(".written .written-text")).to_contain_text("1000亿元[3]")
            context.close()
    assert not problems, problems


def test_documents_page_uploads_word_and_pdf_then_asks_and_deletes(browser, library, tmp_path):
    from tests.sample_files import chinese_pdf, word_docx

    docx = word_docx(tmp_path / "蓝湾港年报.docx", "蓝湾港2024年运营报告", ["蓝湾港2024年集装箱吞吐量达到265万标箱，同比增长9%。"])
    pdf = chinese_pdf(tmp_path / "松岭林场.pdf", "松岭林场简介", ["松岭林场始建于1962年，经营面积为5.8万亩，森林覆盖率91%。"])
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    problems = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.goto(f"{library.url}/documents")
    tab.set_input_files("#files", [str(docx), str(pdf)])
    for name in (docx.name, pdf.name):
        expect(tab.locator(f'#uploads li[data-file="{name}"] .state')).to_contain_text("完成", timeout=120_000)
    expect(tab.locator("#doc-table tbody tr", has_text="蓝湾港2024年运营报告")).to_be_visible()
    expect(tab.locator("#doc-table tbody tr", has_text="松岭林场简介")).to_contain_text(pdf.name)
    tab.screenshot(path=SHOTS / "documents-uploaded.png", full_page=True)

    tab.click("#chat-link")
    for question, value in (("蓝湾港2024年集装箱吞吐量是多少", "265万标箱"), ("松岭林场的经营面积是多少", "5.8万亩")):
        answer = ask(tab, question)
        assert any(value in text for text in answer.locator("mark").all_inner_texts()), answer.inner_text()
    tab.screenshot(path=SHOTS / "documents-asked.png", full_page=True)

    tab.goto(f"{library.url}/documents")
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.locator("#doc-table tbody tr", has_text="蓝湾港2024年运营报告").locator("button.delete").click()
    expect(tab.locator("#list-note")).to_contain_text("已删除", timeout=120_000)
    expect(tab.locator("#doc-table tbody tr", has_text="蓝湾港2024年运营报告")).to_have_count(0)
    tab.click("#chat-link")
    after = ask(tab, "蓝湾港2024年集装箱吞吐量是多少")
    assert "265万标箱" not in after.inner_text()
    context.close()
    assert not problems, problems


def test_a_scanned_page_is_read_by_ocr_and_its_citation_is_marked(browser, library, tmp_path):
    pytest.importorskip("rapidocr", reason="OCR needs the ocr extra")
    from tests.sample_files import rendered_page

    scan = tmp_path / "扫描通知.png"
    rendered_page(["白沙镇自来水厂改造工程总投资为2860万元，计划于2026年6月完工。"], height=400, title="白沙镇供水通知").save(scan)
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    problems = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.goto(f"{library.url}/documents")
    tab.set_input_files("#files", [str(scan)])
    expect(tab.locator(f'#uploads li[data-file="{scan.name}"] .state')).to_contain_text("完成", timeout=120_000)
    tab.click("#chat-link")
    answer = ask(tab, "白沙镇自来水厂改造工程总投资是多少")
    assert any("2860万元" in text for text in answer.locator("mark").all_inner_texts()), answer.inner_text()
    first = answer.locator(".cite").first
    expect(first.locator(".ocr-label")).to_have_text("识别文本")
    tab.screenshot(path=SHOTS / "ocr-citation.png", full_page=True)
    seed = ask(tab, SEED)  # text that was never OCR'd carries no label
    expect(seed.locator(".ocr-label")).to_have_count(0)
    context.close()
    assert not problems, problems
