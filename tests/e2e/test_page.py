"""The follow-up page in a real headless browser (Debian's chromium and chromedriver)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from followup.core.types import Tier
from followup.present.render import TIER_HEADINGS, UNCITED_HEADING

pytestmark = pytest.mark.model

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("chromium and chromedriver are missing: `make test` installs them (Debian packages)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1100,1400"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def ask(browser: WebDriver, question: str, turns_before: int) -> WebElement:
    field = browser.find_element(By.ID, "question")
    field.clear()
    field.send_keys(question)
    browser.find_element(By.ID, "ask").click()
    WebDriverWait(browser, 60).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, "#conversation .turn")) > turns_before
    )
    return browser.find_elements(By.CSS_SELECTOR, "#conversation .turn")[-1]


def api_answer(live_server: str, question: str, history: list[str]) -> dict[str, Any]:
    """What the page asked /v1/ask for: the question, the conversation so far, the shown article."""
    body = {"question": question, "history": history, "article_id": "muscle-spasm"}
    response = httpx.post(live_server + "/v1/ask", json=body, timeout=60)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def heading(passage: dict[str, Any]) -> str:
    """The heading render.heading_for gives the passage: the page must word it the same."""
    return TIER_HEADINGS[Tier(passage["tier"])] if passage["citations"] else UNCITED_HEADING


def text_of(node: WebElement) -> str:
    return str(node.get_attribute("textContent"))


def assert_answer_first_then_evidence(turn: WebElement, answer: dict[str, Any]) -> int:
    """The turn shows the API's passages[0] in the answer box, captioned with its tier, then the other
    passages in the API's order under their headings, one section per run of the same heading. Returns
    how many evidence groups follow the answer."""
    first, *others = answer["passages"]
    assert first["role"] == "answer"
    sections = turn.find_elements(By.CSS_SELECTOR, ":scope > section")
    box, groups = sections[0], sections[1:]
    assert box.get_attribute("class") == "answer"
    title = box.find_element(By.CSS_SELECTOR, "h2")
    assert title.text == "Answer" and box.get_attribute("aria-labelledby") == title.get_attribute("id")
    assert text_of(box.find_element(By.CSS_SELECTOR, ".answer-tier")) == heading(first)  # shown in capitals
    assert [text_of(q) for q in box.find_elements(By.CSS_SELECTOR, "blockquote")] == [first["display_text"]]
    expected: list[tuple[str, list[str]]] = []
    for passage in others:
        if not expected or expected[-1][0] != heading(passage):
            expected.append((heading(passage), []))
        expected[-1][1].append(passage["display_text"])
    quotes = [[text_of(q) for q in g.find_elements(By.CSS_SELECTOR, "blockquote")] for g in groups]
    shown = [(g.find_element(By.CSS_SELECTOR, "h2.tier").text, q) for g, q in zip(groups, quotes, strict=True)]
    assert shown == expected
    assert turn.find_elements(By.CSS_SELECTOR, "blockquote")[0] == box.find_element(By.CSS_SELECTOR, "blockquote")
    return len(groups)


def test_a_clinician_asks_follows_up_and_sees_an_abstention(browser: WebDriver, live_server: str) -> None:
    browser.get(live_server + "/")
    WebDriverWait(browser, 30).until(
        ec.text_to_be_present_in_element((By.ID, "article-title"), "What are the causes of muscle spasm?")
    )

    ms = "Which medication treats spasticity in multiple sclerosis?"
    first = ask(browser, ms, 0)
    assert browser.switch_to.active_element.get_attribute("id") == "question"  # ready for the follow-up
    assert_answer_first_then_evidence(first, api_answer(live_server, ms, []))
    assert "baclofen" in first.find_element(By.CSS_SELECTOR, "section.answer blockquote").text
    link = first.find_element(By.CSS_SELECTOR, "section.answer a.cite")
    target = str(link.get_attribute("href")).split("#")[1]
    assert first.find_element(By.ID, target).text.startswith(f"[{link.text}]")

    second = ask(browser, "What dose should be used?", 1)
    assert "Searched for: What dose should be used? spasticity multiple sclerosis" in second.text
    assert "10-20 mg three times daily" in second.find_element(By.CSS_SELECTOR, "section.answer blockquote").text
    assert assert_answer_first_then_evidence(second, api_answer(live_server, "What dose should be used?", [ms])) >= 1

    third = ask(browser, "What is the capital of France?", 2)
    assert "The article and its references do not answer this question." in third.text
    assert not third.find_elements(By.CSS_SELECTOR, "blockquote")
    assert not third.find_elements(By.CSS_SELECTOR, "section.answer")
    fourth = ask(browser, "Is quinine good for leg cramps?", 3)
    assert "do not answer this question: they do not address quinine." in fourth.text
    assert "Professional medical disclaimer" in browser.find_element(By.TAG_NAME, "footer").text


# ---- the article on the page, "Show in source", keyboard, axe-core, phone width ------------------------

ARTICLE = "muscle-spasm"
MS = "Which medication treats spasticity in multiple sclerosis?"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
DESKTOP, PHONE = 1100, 390


def api_get(live_server: str, path: str) -> Any:
    response = httpx.get(live_server + path, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def open_page(browser: WebDriver, live_server: str, query: str = "") -> None:
    browser.get(live_server + "/" + query)
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-article"))


def set_width(browser: WebDriver, width: int, height: int = 1400) -> None:
    """The layout viewport exactly `width` CSS pixels wide, as on a phone (390) or a desktop (1100)."""
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def marks_text(scope: WebElement) -> str:
    return "".join(text_of(m) for m in scope.find_elements(By.CSS_SELECTOR, "mark"))


def active(browser: WebDriver) -> WebElement:
    return browser.switch_to.active_element


def axe_violations(browser: WebDriver) -> list[dict[str, Any]]:
    """axe-core (vendored, tests/e2e/vendor/axe.min.js, MPL-2.0) run in the page: its serious and critical
    violations."""
    if not browser.execute_script("return !!window.axe"):
        browser.execute_script(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then((r) => done(r), (e) => done({error: String(e)}));"
    )
    assert "error" not in result, result
    assert result["testEngine"]["name"] == "axe-core" and result["passes"], "axe-core did not run"
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(browser: WebDriver, width: int, name: str, from_id: str | None = None, height: int = 6000) -> None:
    """With FOLLOWUP_SCREENSHOTS=docs, the page at `width` CSS pixels as docs/<name>: from the top, or from the
    element `from_id`, at most `height` pixels of it."""
    folder = os.environ.get("FOLLOWUP_SCREENSHOTS")
    if not folder:
        return
    browser.execute_script("window.scrollTo(0, 0)")
    total = int(browser.execute_script("return document.documentElement.scrollHeight"))
    top = int(browser.find_element(By.ID, from_id).rect["y"]) if from_id else 0
    height = min(height, total - top)
    set_width(browser, width, min(total, 8000))
    clip = {"x": 0, "y": top, "width": width, "height": height, "scale": 1}
    png = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "clip": clip})
    (Path(folder) / name).write_bytes(base64.b64decode(png["data"]))


def test_the_article_is_on_the_page_with_its_references(browser: WebDriver, live_server: str) -> None:
    set_width(browser, DESKTOP)
    open_page(browser, live_server, f"?article={ARTICLE}")
    article = api_get(live_server, f"/v1/articles/{ARTICLE}")
    src = api_get(live_server, f"/v1/sources/{ARTICLE}")
    assert browser.find_element(By.ID, "article-title").text == article["title"]
    assert browser.find_element(By.ID, "article-updated").text == "Last updated: February 16, 2025"
    body = browser.find_element(By.ID, "article-body")
    headings = [h.text for h in body.find_elements(By.CSS_SELECTOR, "h2, h3")]
    expected_headings: list[str] = []
    for section in src["sections"]:
        for name in section["heading"]:
            if name not in expected_headings:
                expected_headings.append(name)
    assert headings == expected_headings
    assert "Treatment of Muscle Spasms" in [h.text for h in body.find_elements(By.TAG_NAME, "h3")]
    # Every block of the source is on the page, its text exactly text[start:end] (citation brackets are CSS).
    blocks = body.find_elements(By.CSS_SELECTOR, ".block-text")
    assert [text_of(b) for b in blocks] == [src["text"][s["start"] : s["end"]] for s in src["sections"]]
    assert len(body.find_elements(By.CSS_SELECTOR, "ul li")) >= 20  # the bullets, nested ones included
    assert body.find_elements(By.CSS_SELECTOR, "ul ul li")
    # The contents list links to the headings.
    contents = browser.find_element(By.CSS_SELECTOR, "nav#contents")
    assert contents.is_displayed()
    assert [a.text for a in contents.find_elements(By.TAG_NAME, "a")] == expected_headings
    # Citation numbers link to the reference list; the entry has its real links.
    assert len(body.find_elements(By.CSS_SELECTOR, "a.ref-cite")) == sum(len(c["numbers"]) for c in src["citations"])
    cite = body.find_element(By.CSS_SELECTOR, "a.ref-cite[href='#ref-7']")
    brackets = "const s = (p) => getComputedStyle(arguments[0], p).content; return s('::before') + s('::after')"
    assert cite.text == "7" and browser.execute_script(brackets, cite) == '"[""]"'  # shown as [7]
    cite.click()
    assert browser.current_url.endswith("#ref-7")
    entry = browser.find_element(By.ID, "ref-7")
    assert entry.text.startswith("[7] Chou R, Peterson K, Helfand M. Comparative efficacy")
    links = {a.text.split()[0]: a.get_attribute("href") for a in entry.find_elements(By.TAG_NAME, "a")}
    ref7 = next(r for r in article["references"] if r["number"] == 7)
    assert links == {"PubMed": ref7["links"]["pubmed"], "doi.org": ref7["links"]["doi"]}
    ref2 = next(r for r in article["references"] if r["number"] == 2)
    dailymed = browser.find_element(By.ID, "ref-2").find_element(By.TAG_NAME, "a")
    assert dailymed.text.startswith("DailyMed") and dailymed.get_attribute("href") == ref2["links"]["dailymed"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#reference-list li")) == len(article["references"])
    # Landmarks; the follow-up box is under the article.
    for selector in ("header.site-header", "main", "nav#contents", "footer.site-footer"):
        assert browser.find_elements(By.CSS_SELECTOR, selector), selector
    assert browser.execute_script(
        "return document.getElementById('article').compareDocumentPosition(document.getElementById('ask-form'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING"
    )


def test_show_in_source_highlights_exactly_the_passage(browser: WebDriver, live_server: str) -> None:
    set_width(browser, DESKTOP)
    open_page(browser, live_server)
    turn = ask(browser, MS, 0)
    answer = api_answer(live_server, MS, [])
    first = answer["passages"][0]
    box = turn.find_element(By.CSS_SELECTOR, "section.answer")
    # Sources by name, never by id.
    labels = [text_of(s) for s in turn.find_elements(By.CSS_SELECTOR, ".source .source-label")]
    assert labels == [p["source_label"] for p in answer["passages"]]
    assert not any(p["source_id"] in text_of(turn) for p in answer["passages"] if "/" in p["source_id"])

    # A reference's passage: the side panel, with exactly text[start:end] marked and focused.
    assert "/" in first["source_id"]
    opener = box.find_element(By.CSS_SELECTOR, "button.show-source")
    opener.click()
    panel = browser.find_element(By.ID, "source-panel")
    WebDriverWait(browser, 10).until(lambda b: panel.get_attribute("open") is not None)
    src = api_get(live_server, f"/v1/sources/{first['source_id']}")
    assert browser.find_element(By.ID, "source-panel-title").text == src["label"]
    assert marks_text(panel) == first["text"] == src["text"][first["start"] : first["end"]]
    assert len(panel.find_elements(By.TAG_NAME, "mark")) == 1
    assert active(browser).tag_name == "mark"
    assert browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight",
        panel.find_element(By.TAG_NAME, "mark"),
    )
    active(browser).send_keys(Keys.ESCAPE)
    WebDriverWait(browser, 10).until(lambda b: panel.get_attribute("open") is None)
    assert active(browser) == opener  # focus back where the reader was

    # The close button closes it too.
    opener.click()
    WebDriverWait(browser, 10).until(lambda b: panel.get_attribute("open") is not None)
    browser.find_element(By.ID, "source-close").click()
    WebDriverWait(browser, 10).until(lambda b: panel.get_attribute("open") is None)

    # An article passage: highlighted in place in the article, scrolled to and focused.
    index, passage = next((i, p) for i, p in enumerate(answer["passages"]) if p["source_id"] == ARTICLE)
    turn.find_elements(By.CSS_SELECTOR, "button.show-source")[index].click()
    article = browser.find_element(By.ID, "article-body")
    WebDriverWait(browser, 10).until(lambda b: article.find_elements(By.TAG_NAME, "mark"))
    assert marks_text(article) == passage["text"]
    assert active(browser).tag_name == "mark" and article.find_element(By.TAG_NAME, "mark") == active(browser)
    # Escape (or the "Back to the answer" button) goes back to the passage's button.
    back = browser.find_element(By.ID, "back-to-answer")
    assert back.is_displayed()
    active(browser).send_keys(Keys.ESCAPE)
    assert active(browser) == turn.find_elements(By.CSS_SELECTOR, "button.show-source")[index]
    assert not back.is_displayed()
    assert marks_text(article) == passage["text"]  # the highlight stays
    # Another passage moves the highlight: one passage marked at a time.
    others = [(i, p) for i, p in enumerate(answer["passages"]) if p["source_id"] == ARTICLE and i != index]
    if others:
        other_index, other = others[0]
        turn.find_elements(By.CSS_SELECTOR, "button.show-source")[other_index].click()
        WebDriverWait(browser, 10).until(lambda b: marks_text(article) == other["text"])
    assert not browser.find_element(By.ID, "source-panel").get_attribute("open")


def test_keyboard_only(browser: WebDriver, live_server: str) -> None:
    set_width(browser, DESKTOP)
    open_page(browser, live_server)
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert active(browser).get_attribute("id") == "skip-link"
    assert active(browser).is_displayed()  # shown when focused
    active(browser).send_keys(Keys.ENTER)
    assert active(browser).get_attribute("id") == "question"
    ActionChains(browser).send_keys(MS, Keys.ENTER).perform()
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#conversation .turn"))
    assert active(browser).get_attribute("id") == "question"
    # Back (Shift+Tab) from the box to the last "Show in source" button, Enter opens the source.
    for _ in range(40):
        ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        if "show-source" in str(active(browser).get_attribute("class")):
            break
    button = active(browser)
    assert "show-source" in str(button.get_attribute("class"))
    button.send_keys(Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda b: active(b).tag_name == "mark")
    answer = api_answer(live_server, MS, [])
    assert not answer["passages"][-1]["also_in"]  # so the last button is the last passage's
    assert marks_text(browser.find_element(By.TAG_NAME, "body")) == answer["passages"][-1]["text"]


def test_axe_core_finds_no_serious_or_critical_violations(browser: WebDriver, live_server: str) -> None:
    for width in (DESKTOP, PHONE):
        set_width(browser, width)
        open_page(browser, live_server)
        assert axe_violations(browser) == [], width
        ask(browser, MS, 0)
        ask(browser, "Is quinine good for leg cramps?", 1)
        assert axe_violations(browser) == [], width
        browser.find_element(By.CSS_SELECTOR, "section.answer button.show-source").click()
        WebDriverWait(browser, 10).until(lambda b: active(b).tag_name == "mark")
        assert axe_violations(browser) == [], width
        active(browser).send_keys(Keys.ESCAPE)


def test_usable_390_px_wide_and_screenshots(browser: WebDriver, live_server: str) -> None:
    set_width(browser, PHONE, 844)
    open_page(browser, live_server)
    assert browser.execute_script("return window.innerWidth") == PHONE
    turn = ask(browser, MS, 0)
    # Nothing wider than the phone: no horizontal scrolling; the box and its button fit.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE
    for element_id in ("question", "ask"):
        rect = browser.find_element(By.ID, element_id).rect
        assert rect["x"] >= 0 and rect["x"] + rect["width"] <= PHONE, element_id
    assert turn.find_element(By.CSS_SELECTOR, "section.answer blockquote").rect["width"] <= PHONE
    assert browser.find_element(By.ID, "article-title").is_displayed()
    screenshot(browser, PHONE, "page-phone.png", from_id="follow-up", height=1800)
    set_width(browser, DESKTOP)
    open_page(browser, live_server)
    ask(browser, MS, 0)
    screenshot(browser, DESKTOP, "page-desktop.png")
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def feedback_rows(database: Path) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(database)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute("SELECT * FROM reports ORDER BY id")]


def recorded(control: WebElement) -> None:
    WebDriverWait(control.parent, 30).until(
        lambda _: text_of(control.find_element(By.CSS_SELECTOR, "[role=status]")) == "Thanks, recorded."
    )


def test_thumbs_and_a_wrong_report_land_in_the_feedback_file(
    browser: WebDriver, feedback_server: tuple[str, Path]
) -> None:
    url, database = feedback_server
    set_width(browser, DESKTOP)
    open_page(browser, url)
    turn = ask(browser, MS, 0)
    asked = httpx.post(url + "/v1/ask", json={"question": MS, "history": [], "article_id": ARTICLE}, timeout=60)
    answer, build = asked.json(), asked.headers["X-Followup-Build"]
    controls = turn.find_elements(By.CSS_SELECTOR, "[role=group].feedback")
    assert len(controls) == len(answer["passages"]) >= 2
    assert controls[0].get_attribute("aria-label") == "Feedback on this passage"

    # Thumbs up on the answer: it answers.
    up, down = controls[0].find_elements(By.CSS_SELECTOR, "button.thumb")
    assert (up.accessible_name, down.accessible_name) == ("It answers the question", "Not relevant")
    assert up.get_attribute("aria-pressed") == "false"
    up.click()
    recorded(controls[0])
    assert (up.get_attribute("aria-pressed"), down.get_attribute("aria-pressed")) == ("true", "false")

    # "Wrong" with a comment on the second passage, by keyboard alone: the disclosure, the verdict (wrong
    # is the first choice), the comment, Send; focus back on the disclosure, its thumb down pressed.
    second = controls[1]
    summary = second.find_element(By.TAG_NAME, "summary")
    assert summary.text == "Report a problem"
    browser.execute_script("arguments[0].focus()", summary)
    active(browser).send_keys(Keys.ENTER)
    select = second.find_element(By.TAG_NAME, "select")
    WebDriverWait(browser, 10).until(lambda _: select.is_displayed())
    assert second.find_element(By.CSS_SELECTOR, f"label[for='{select.get_attribute('id')}']").text == "This passage is"
    assert Select(select).first_selected_option.get_attribute("value") == "wrong"
    comment = "Quotes the adult dose for children."
    ActionChains(browser).send_keys(Keys.TAB, Keys.TAB, comment, Keys.TAB).perform()
    assert active(browser).text == "Send"
    active(browser).send_keys(Keys.ENTER)
    recorded(second)
    assert active(browser) == summary and not select.is_displayed()
    assert second.find_element(By.CSS_SELECTOR, "button.thumb-down").get_attribute("aria-pressed") == "true"

    first, other = answer["passages"][:2]
    stored = feedback_rows(database)
    assert [(r["verdict"], r["source_id"], r["start_offset"], r["end_offset"], r["text"], r["comment"])
            for r in stored[-2:]] == [
        ("answers", first["source_id"], first["start"], first["end"], first["text"], None),
        ("wrong", other["source_id"], other["start"], other["end"], other["text"], comment),
    ]  # fmt: skip
    assert {(r["question"], r["history"], r["article_id"], r["build"]) for r in stored[-2:]} == {
        (MS, "[]", ARTICLE, build)
    }


def test_the_feedback_control_open_is_axe_clean_and_fits_a_phone(
    browser: WebDriver, feedback_server: tuple[str, Path]
) -> None:
    url, _ = feedback_server
    for width in (DESKTOP, PHONE):
        set_width(browser, width)
        open_page(browser, url)
        turn = ask(browser, MS, 0)
        for control in turn.find_elements(By.CSS_SELECTOR, ".feedback")[:2]:
            control.find_element(By.TAG_NAME, "summary").click()
        assert turn.find_element(By.CSS_SELECTOR, ".feedback textarea").is_displayed()
        assert axe_violations(browser) == [], width
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width
        for selector in ("button.thumb-down", ".feedback select", ".feedback textarea", "button.feedback-send"):
            rect = turn.find_element(By.CSS_SELECTOR, selector).rect
            assert rect["x"] >= 0 and rect["x"] + rect["width"] <= width, (selector, width)
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture(scope="module")
def two_articles(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, answerer: Any) -> Iterator[str]:
    """A library of two articles (the seed and a retitled copy of it), served on its own port."""
    from followup.answerer import Answerer
    from followup.index.build import build_index
    from followup.serve.app import ServiceSettings, create_app
    from tests.e2e.conftest import serving

    root = tmp_path_factory.mktemp("two-articles")
    shutil.copytree(corpus_dir, root / "corpus")
    copy = root / "corpus" / "cramps-copy"
    shutil.copytree(corpus_dir / ARTICLE, copy)
    meta = json.loads((copy / "article.json").read_text(encoding="utf-8"))
    (copy / "article.json").write_text(json.dumps({**meta, "id": "cramps-copy", "title": "Leg cramps at night"}))
    build_index(root / "corpus", root / "index")
    library = Answerer(Answerer.load(root / "index", root / "corpus").index, answerer.encoder)
    with serving(create_app(ServiceSettings(index_dir=root / "index", corpus_dir=root / "corpus"), library)) as url:
        yield url


def test_the_article_picker_shows_titles_and_opens_one_by_its_id(
    browser: WebDriver, two_articles: str, corpus_dir: Path
) -> None:
    seed_title = json.loads((corpus_dir / ARTICLE / "article.json").read_text(encoding="utf-8"))["title"]
    set_width(browser, DESKTOP)
    open_page(browser, two_articles, f"?article={ARTICLE}")
    assert browser.find_element(By.ID, "article-title").text == seed_title
    picker = Select(browser.find_element(By.ID, "article-select"))
    assert browser.find_element(By.ID, "article-choice").is_displayed()
    assert sorted(o.text for o in picker.options) == sorted([seed_title, "Leg cramps at night"])
    picker.select_by_visible_text("Leg cramps at night")
    WebDriverWait(browser, 30).until(
        lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-article") == "cramps-copy"
    )
    assert browser.find_element(By.ID, "article-title").text == "Leg cramps at night"
    assert "article=cramps-copy" in browser.current_url  # the address opens this article again


# ---- the evidence filter under the question box, links to a passage in its source ---------------------


def test_the_evidence_filter_narrows_the_answer_and_says_what_it_left_out(browser: WebDriver, live_server: str) -> None:
    question = "What dose of baclofen is used?"
    for width in (DESKTOP, PHONE):
        set_width(browser, width)
        open_page(browser, live_server)
        summary = browser.find_element(By.CSS_SELECTOR, "#filters summary")
        assert summary.text == "Evidence: every tier, any year"
        # Keyboard only: the summary opens the control, Tab reaches the first tier, Space ticks it.
        browser.execute_script("arguments[0].focus()", summary)
        active(browser).send_keys(Keys.ENTER)
        assert browser.find_element(By.ID, "filters").get_attribute("open") is not None
        boxes = browser.find_elements(By.CSS_SELECTOR, "#tier-choices input[type=checkbox]")
        assert [b.get_attribute("value") for b in boxes] == [t.value for t in Tier]
        ActionChains(browser).send_keys(Keys.TAB).perform()
        assert active(browser) == boxes[0]
        active(browser).send_keys(Keys.SPACE)
        assert boxes[0].is_selected() and summary.text == "Evidence: only guidelines"
        boxes[0].click()
        browser.find_element(By.CSS_SELECTOR, "#tier-choices input[value=systematic_review]").click()
        assert summary.text == "Evidence: only systematic reviews"
        assert axe_violations(browser) == [], width

        turn = ask(browser, question, 0)
        expected = httpx.post(live_server + "/v1/ask", timeout=60, json={
            "question": question, "article_id": ARTICLE, "tiers": ["systematic_review"]}).json()  # fmt: skip
        assert expected["answered"] and {p["tier"] for p in expected["passages"]} == {"systematic_review"}
        assert [text_of(q) for q in turn.find_elements(By.CSS_SELECTOR, "blockquote")] == [
            p["display_text"] for p in expected["passages"]
        ]
        assert "Only systematic reviews" in turn.text

        browser.find_element(By.ID, "since").send_keys("2020")
        assert summary.text == "Evidence: only systematic reviews, published 2020 or later"
        refused = ask(browser, question, 1)
        assert not refused.find_elements(By.CSS_SELECTOR, "blockquote")
        assert text_of(refused.find_element(By.CSS_SELECTOR, ".not-answered")) == (
            "The evidence your filter admits (systematic reviews, published 2020 or later) does not answer this "
            "question; the article and its references answer it from evidence the filter excluded."
        )
        assert axe_violations(browser) == [], width
        browser.find_element(By.ID, "clear-filters").click()
        assert summary.text == "Evidence: every tier, any year" and not browser.find_element(
            By.ID, "since"
        ).get_attribute("value")
        plain = ask(browser, question, 2)
        assert not [q for q in plain.find_elements(By.CSS_SELECTOR, "p.query") if text_of(q).startswith("Only")]
        assert plain.find_elements(By.CSS_SELECTOR, "section.answer")


def test_a_link_to_a_passage_opens_its_source_with_the_passage_marked(browser: WebDriver, live_server: str) -> None:
    set_width(browser, DESKTOP)
    answer = api_answer(live_server, MS, [])
    reference = next(p for p in answer["passages"] if "/" in p["source_id"])
    open_page(browser, live_server, f"?article={ARTICLE}&source={reference['source_id']}"
              f"&start={reference['start']}&end={reference['end']}")  # fmt: skip
    panel = browser.find_element(By.ID, "source-panel")
    WebDriverWait(browser, 10).until(lambda b: panel.get_attribute("open") is not None)
    assert marks_text(panel) == reference["text"] and active(browser).tag_name == "mark"
    in_article = next(p for p in answer["passages"] if p["source_id"] == ARTICLE)
    open_page(browser, live_server, f"?article={ARTICLE}&source={ARTICLE}&start={in_article['start']}"
              f"&end={in_article['end']}")  # fmt: skip
    article = browser.find_element(By.ID, "article-body")
    WebDriverWait(browser, 10).until(lambda b: article.find_elements(By.TAG_NAME, "mark"))
    assert marks_text(article) == in_article["text"]
    open_page(browser, live_server, f"?article={ARTICLE}&source={ARTICLE}&start=5&end=99999999")
    assert not browser.find_elements(By.TAG_NAME, "mark"), "offsets past the text mark nothing"


def test_export_citations_saves_the_articles_references(browser: WebDriver, live_server: str) -> None:
    set_width(browser, DESKTOP)
    open_page(browser, live_server)
    # The file the link saves, caught where the page hands it to the browser's download.
    browser.execute_script(
        "window.exported = []; const make = URL.createObjectURL;"
        "URL.createObjectURL = (blob) => { window.exported.push(blob); return make(blob); };"
        "const click = HTMLAnchorElement.prototype.click;"
        "HTMLAnchorElement.prototype.click = function () { window.savedAs = this.download;"
        " if (!this.download) click.call(this); };"
    )
    for link_id, name, start in (("export-ris", "muscle-spasm-references.ris", "TY  - "),
                                 ("export-csl", "muscle-spasm-references.json", "[")):  # fmt: skip
        browser.find_element(By.ID, link_id).click()
        WebDriverWait(browser, 10).until(lambda b: b.execute_script("return window.exported.length") == 1)
        text = browser.execute_async_script(
            "const done = arguments[arguments.length - 1]; window.exported.pop().text().then(done);"
        )
        assert text.startswith(start) and browser.execute_script("return window.savedAs") == name
        expected = httpx.get(f"{live_server}/v1/articles/{ARTICLE}/references",
                             params={"format": "ris" if link_id == "export-ris" else "csl-json"}).text  # fmt: skip
        assert text == expected
    assert "Chou" in text and json.loads(text)[6]["PMID"] == "15276195"
