"""A saved article page (text capture, HTML, Markdown) read into the corpus's article, furniture left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from followup.core.errors import CorpusError
from followup.ingest.formats.article_page import ListedReference, page_format, read_article_page

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "formats"
SEED_CAPTURE = FIXTURES / "page-muscle-spasm.txt"  # the seed page as captured, byte for byte
SEED_ARTICLE = ROOT / "corpus" / "muscle-spasm" / "article.md"
PAGES = [SEED_CAPTURE, FIXTURES / "page-muscle-spasm.html", FIXTURES / "page-muscle-spasm.md"]


@pytest.mark.parametrize("page", PAGES, ids=["capture", "html", "markdown"])
def test_every_saved_form_of_the_seed_page_gives_the_corpus_article(page: Path) -> None:
    article = read_article_page(page)
    assert article.markdown == SEED_ARTICLE.read_text(encoding="utf-8")
    assert article.title == "What are the causes of muscle spasm?"
    assert article.last_updated == "2025-02-16"
    assert dict(article.cited_in) == {
        "From the Guidelines": {1}, "From the FDA Drug Label": {2}, "From the Research": {3, 4, 5, 6, 7},
    }  # fmt: skip


@pytest.mark.parametrize("page", PAGES[:2], ids=["capture", "html"])
def test_the_page_furniture_is_left_out_and_its_reference_list_read(page: Path) -> None:
    article = read_article_page(page)
    for furniture in ("Medical Advisory Board", "Personalize", "Which best describes you", "Disclaimer",
                      "follow-up question", "Guideline Directed Topic Overview", "View editorial policy"):  # fmt: skip
        assert furniture not in article.markdown
    assert article.listed == (
        ListedReference("Guideline", "Guideline Directed Topic Overview",
                        "Dr.Oracle Medical Advisory Board & Editors", 2025),
        ListedReference("Research", "Muscle cramps: A comparison of the two-leading hypothesis.",
                        "Journal of electromyography and kinesiology : official journal of the International "
                        "Society of Electrophysiological Kinesiology", 2018),
        ListedReference("Research", "Muscle Spasms after Spinal Cord Injury Stem from Changes in Motoneuron "
                        "Excitability and Synaptic Inhibition, Not Synaptic Excitation.",
                        "The Journal of neuroscience : the official journal of the Society for Neuroscience", 2024),
    )  # fmt: skip
    assert article.listed[0].fields() == {
        "title": "Guideline Directed Topic Overview", "authors": "Dr.Oracle Medical Advisory Board & Editors",
        "year": 2025, "kind": "guideline",
    }  # fmt: skip
    assert str(article.listed[1].fields()["journal"]).startswith("Journal of electromyography")


def test_the_format_is_found_from_the_content() -> None:
    assert page_format("<!DOCTYPE html><html><body><p>x</p></body></html>") == "html"
    assert page_format("# Title\n\n## From the Guidelines\n\nText 1.\n") == "markdown"
    assert page_format("Title\n\nFrom the Guidelines\n\nText 1.\n") == "capture"


def test_html_citations_read_as_the_page_prints_them_and_nested_lists_keep_their_depth(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><h1>A title</h1><p>Last updated: 2024-03-01</p><script>var x = 1;</script>"
        "<h2>From the Research</h2><p>A finding<sup><a href='#r4'>4</a>, <a href='#r5'>5</a></sup>.</p>"
        "<ul><li>Outer, such as:<ul><li>Inner item<sup>3</sup></li></ul></li><li>Next</li></ul></body></html>"
    )
    article = read_article_page(page)
    assert article.markdown == (
        "# From the Research\n\nA finding 4, 5.\n\n- Outer, such as:\n  - Inner item 3\n- Next\n"
    )
    assert article.last_updated == "2024-03-01"


def test_a_superscript_citation_inside_a_sentence_is_read_in_brackets(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><h1>A title</h1><p>Last updated: 2024-03-01</p><h2>Findings</h2>"
        "<p>Cramps are common in adults<sup>1–3</sup>, and in athletes<sup>4</sup> They resolve.</p>"
        "<p>Area was 5 m<sup>2</sup> and 25 kg/m<sup>2</sup>, counts 10<sup>9</sup>/L; brackets [2] stay.</p>"
        "<p>Baclofen 10 mg<sup>1</sup>, twice daily.</p>"
        "</body></html>"
    )
    article = read_article_page(page)
    assert "Cramps are common in adults [1–3], and in athletes 4 They resolve." in article.markdown
    assert "Area was 5 m2 and 25 kg/m2, counts 109/L; brackets [2] stay." in article.markdown
    assert "Baclofen 10 mg [1], twice daily." in article.markdown


def test_a_markdown_article_without_a_title_line_keeps_its_levels() -> None:
    article = read_article_page(SEED_ARTICLE)
    assert article.title is None
    assert article.markdown == SEED_ARTICLE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("page-malformed.html", "the HTML is cut off: <html> is never closed"),
        ("page-malformed.txt", "found no article text: no paragraph or bullet ends in a citation number"),
    ],
)
def test_a_malformed_page_is_named_with_its_problem(name: str, problem: str) -> None:
    with pytest.raises(CorpusError) as raised:
        read_article_page(FIXTURES / name)
    assert raised.value.path == str(FIXTURES / name)
    assert problem in raised.value.problem


def test_a_page_that_is_not_text_or_has_no_date_is_refused(tmp_path: Path) -> None:
    binary = tmp_path / "page.pdf"
    binary.write_bytes(b"%PDF-1.7\xff\xfe")
    with pytest.raises(CorpusError, match="not UTF-8 text"):
        read_article_page(binary)
    dated = tmp_path / "page.txt"
    dated.write_text("Title\n\nLast updated: Smarch 40, 2025\n\nFrom the Guidelines\n\nText 1.\n")
    with pytest.raises(CorpusError, match="'Last updated: Smarch 40, 2025' is not a date"):
        read_article_page(dated)
