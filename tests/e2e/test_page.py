"""The follow-up page in a real headless browser (Debian's chromium and chromedriver)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

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


def test_a_clinician_asks_follows_up_and_sees_an_abstention(browser: WebDriver, live_server: str) -> None:
    browser.get(live_server + "/")
    WebDriverWait(browser, 30).until(
        ec.text_to_be_present_in_element((By.ID, "article-title"), "What are the causes of muscle spasm?")
    )

    first = ask(browser, "Which medication treats spasticity in multiple sclerosis?", 0)
    passages = [q.text for q in first.find_elements(By.CSS_SELECTOR, "blockquote")]
    assert any("baclofen, at a dose of 10-20 mg" in p and p.endswith("[1].") for p in passages)
    assert first.find_element(By.CSS_SELECTOR, "h2.tier").text == "From the Guidelines"
    link = first.find_element(By.CSS_SELECTOR, "a.cite")
    target = str(link.get_attribute("href")).split("#")[1]
    assert first.find_element(By.ID, target).text.startswith(f"[{link.text}]")

    second = ask(browser, "What dose should be used?", 1)
    assert "Searched for: What dose should be used? spasticity multiple sclerosis" in second.text
    assert "10-20 mg three times daily" in second.find_element(By.CSS_SELECTOR, "blockquote").text

    third = ask(browser, "What is the capital of France?", 2)
    assert "The article and its references do not answer this question." in third.text
    assert not third.find_elements(By.CSS_SELECTOR, "blockquote")
    fourth = ask(browser, "Is quinine good for leg cramps?", 3)
    assert "do not answer this question: they do not address quinine." in fourth.text
    assert "Professional medical disclaimer" in browser.find_element(By.TAG_NAME, "footer").text

    screenshot = os.environ.get("FOLLOWUP_SCREENSHOT")
    if screenshot:  # for the README: FOLLOWUP_SCREENSHOT=docs/page.png pytest tests/e2e/test_page.py
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(screenshot)
