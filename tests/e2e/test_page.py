"""The follow-up page in a real headless browser (Debian's chromium and chromedriver)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from followup.render import TIER_HEADINGS, UNCITED_HEADING
from followup.types import Tier

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

    screenshot = os.environ.get("FOLLOWUP_SCREENSHOT")
    if screenshot:  # for the README: FOLLOWUP_SCREENSHOT=docs/page.png pytest tests/e2e/test_page.py
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(screenshot)
