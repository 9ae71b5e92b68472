from __future__ import annotations

import json
from pathlib import Path

import pytest

from followup.core.errors import CorpusError
from followup.ingest.add import add_article, format_added
from followup.ingest.chunking import document_sentences
from followup.ingest.corpus import load_article
from followup.ingest.formats.jats import is_jats, kind_from_title, read_jats

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
PLOS = FIXTURES / "jats-plos-acupuncture-2013.xml"
PMC = FIXTURES / "jats-europepmc-tips-2026.xml"


def jats(body: str, refs: str = "", front: str = "") -> str:
    references = refs or "".join(
        f'<ref id="r{n}"><label>{n}</label><element-citation><article-title>Paper {n}</article-title>'
        f"<source>J Med</source><year>2001</year></element-citation></ref>"
        for n in range(1, 21)
    )
    return (
        '<?xml version="1.0"?><article xmlns:mml="http://www.w3.org/1998/Math/MathML"><front><article-meta>'
        "<title-group><article-title>A <italic>trial</italic></article-title></title-group>"
        f'<pub-date pub-type="epub"><day>5</day><month>3</month><year>2020</year></pub-date>{front}'
        f"</article-meta></front><body>{body}</body><back><ref-list>{references}</ref-list></back></article>"
    )


def cite(n: int, printed: str | None = None) -> str:
    return f'<xref ref-type="bibr" rid="r{n}">{printed if printed is not None else n}</xref>'


def markdown(body: str, refs: str = "") -> str:
    return read_jats(Path("a.xml"), jats(body, refs)).markdown


def test_plos_article_reads_as_abstract_and_sections_with_bracketed_citations() -> None:
    article = read_jats(PLOS, PLOS.read_text(encoding="utf-8"))
    assert article.title == "Acupuncture and Counselling for Depression in Primary Care: A Randomised Controlled Trial"
    assert article.published == "2013-09-24"
    lines = article.markdown.splitlines()
    assert lines[0] == "# Abstract" and "## Background" in lines and "# Introduction" in lines
    assert "Choices website" not in article.markdown  # the article's own abstract, not the Editors' Summary
    assert "according to the Global Burden of Disease Study [1]. An estimated" in article.markdown
    first = article.references[0]
    assert first == {"number": 1, "title": "The global burden of disease 1990–2020", "authors": "Lopez A, Murray C",
                     "journal": "Nat Med", "year": 1998, "kind": "unknown"}  # fmt: skip


def test_pubmed_central_runs_of_citations_become_one_range_and_records_keep_their_ids() -> None:
    article = read_jats(PMC, PMC.read_text(encoding="utf-8"))
    assert "complications of portal hypertension (PH) [1–3]. However" in article.markdown
    assert "cirrhosis [6–8]. Sarcopenia [9]—characterised" in article.markdown
    assert "Abbreviations" not in article.markdown and "AUROC" not in article.markdown.split("# Introduction")[1]
    first = article.references[0]
    assert first["ids"] == {"doi": "10.1002/hep.32704", "pmid": "35921493"}
    assert first["url"] == "https://pubmed.ncbi.nlm.nih.gov/35921493/"
    assert first["authors"].startswith("Vizzutti F, Celsa C, Calvaruso V") and first["year"] == 2023


def test_the_article_is_its_own_record_with_a_kind_from_its_title_or_type() -> None:
    plos = read_jats(PLOS, PLOS.read_text(encoding="utf-8")).publication
    assert plos["kind"] == "randomized_controlled_trial" and plos["journal"] == "PLoS Medicine"
    assert plos["authors"].startswith("MacPherson H, Richmond S") and plos["year"] == 2013
    assert plos["url"] == "https://doi.org/10.1371/journal.pmed.1001518"
    pmc = read_jats(PMC, PMC.read_text(encoding="utf-8")).publication
    assert pmc["kind"] == "unknown"  # "Sarcopenia Predicts Mortality ...": the title names no design
    assert pmc["ids"] == {"pmcid": "PMC13243813", "pmid": "42252667", "doi": "10.1111/liv.70733"}
    review = jats(f"<p>x {cite(1, '[1]')}</p>").replace("<article ", '<article article-type="review-article" ')
    assert read_jats(Path("a.xml"), review).publication["kind"] == "review"


def test_every_printed_form_of_a_citation_is_one_bracketed_list_of_reference_numbers() -> None:
    text = markdown(
        "<sec><title>Intro</title>"
        f"<p>PLOS ranges {cite(17, '[17]')}–{cite(19, '[19]')} and lists {cite(2, '[2]')},{cite(5, '[5]')}.</p>"
        f"<p>Superscripts<sup>{cite(3)},{cite(4)}</sup> here and [{cite(6)}–{cite(9)}] there.</p>"
        f"<p>As ({cite(12, 'Smith et al., 2010')}) showed.</p></sec>"
    )
    assert "PLOS ranges [17–19] and lists [2, 5]." in text
    assert "Superscripts [3, 4] here and [6–9] there." in text
    assert "As (Smith et al., 2010) [12] showed." in text


def test_tables_figures_and_formulas_are_left_out_and_the_text_around_them_kept() -> None:
    text = markdown(
        "<sec><title>Results</title><p>Before the table.<table-wrap><caption><p>Table caption</p></caption>"
        "</table-wrap> After it.</p><fig><caption><p>Figure caption</p></caption></fig>"
        "<p>A formula <disp-formula><mml:math><mml:mi>x</mml:mi></mml:math></disp-formula> gone [<xref "
        'ref-type="bibr" rid="r1">1</xref>].</p><supplementary-material><p>Supplement</p></supplementary-material>'
        '<sec><title>Adverse events</title><p>Nausea was common [<xref ref-type="bibr" rid="r2">2</xref>]'
        ".<list><list-item><p>mild</p></list-item><list-item><p>moderate</p><list><list-item><p>rare</p>"
        "</list-item></list></list-item></list></p></sec></sec>"
    )
    assert "caption" not in text.casefold() and "Supplement" not in text
    assert "Before the table. After it." in text and "A formula gone [1]." in text
    assert (
        "# Results\n\n" in text
        and "## Adverse events\n\nNausea was common [2].\n\n- mild\n- moderate\n  - rare" in text
    )


def test_a_reference_is_numbered_by_its_label_else_by_its_place() -> None:
    refs = (
        '<ref id="a"><label>[1]</label><mixed-citation>Plain text citation, 1999.</mixed-citation></ref>'
        '<ref id="b"><element-citation><article-title>Second</article-title></element-citation></ref>'
    )
    article = read_jats(Path("a.xml"), jats('<p>See [<xref ref-type="bibr" rid="b">2</xref>].</p>', refs))
    assert [(r["number"], r["title"]) for r in article.references] == [(1, "Plain text citation, 1999."), (2, "Second")]


def test_a_kind_is_read_from_words_of_the_title_only_where_it_names_one() -> None:
    assert (
        kind_from_title("Antidepressants for depression: a systematic review and meta-analysis") == "systematic_review"
    )
    assert kind_from_title("Meta-analysis of statin trials") == "meta_analysis"
    assert kind_from_title("A randomised controlled trial of aspirin") == "randomized_controlled_trial"
    assert kind_from_title("Baveno VII – Renewing consensus in portal hypertension") == "consensus_statement"
    assert kind_from_title("Clinical practice guidelines for the management of gout") == "guideline"
    assert kind_from_title("Compliance with guideline recommendations in primary care") == "unknown"
    assert kind_from_title("Weight change and mortality in a cohort of twins") == "cohort_study"
    assert kind_from_title("The global burden of disease 1990–2020") == "unknown"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<article><front><article-meta>", "malformed XML at line 1"),
        (jats("").replace("<body></body>", ""), "no <body> paragraphs"),
        (jats("<p>x</p>").replace("<article-title>A <italic>trial</italic></article-title>", ""), "no <article-title>"),
        (jats(f"<p>x {cite(1, '[1]')}</p>").replace("<year>2020</year>", ""), "no <pub-date> with a <year>"),
    ],
)
def test_an_unreadable_article_names_the_file_and_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(CorpusError) as error:
        read_jats(Path("bad.xml"), text)
    assert "bad.xml" in str(error.value) and problem in str(error.value)


def test_a_published_article_citing_nothing_is_read_its_record_grounds_it() -> None:
    article = read_jats(Path("a.xml"), jats("<sec><title>Comment</title><p>Nothing cited here.</p></sec>"))
    assert article.markdown == "# Comment\n\nNothing cited here.\n" and article.publication["year"] == 2020


def test_jats_is_told_apart_from_other_xml_by_its_content() -> None:
    assert is_jats(PLOS.read_text(encoding="utf-8")) and is_jats(jats("<p>x</p>"))
    assert not is_jats('<?xml version="1.0"?><PubmedArticleSet><PubmedArticle/></PubmedArticleSet>')
    assert not is_jats("<html><body><article><p>x</p></article></body></html>")


def test_followup_add_makes_an_article_whose_sentences_cite_the_numbered_references(tmp_path: Path) -> None:
    added = add_article(PMC, tmp_path / "corpus", article_id="tips")
    assert added.created and added.citations == 11  # the cut-down Introduction's
    assert "[0] unknown: Sarcopenia Predicts Mortality" in format_added(added)
    records = json.loads((added.folder / "references.json").read_text())["references"]
    assert [r["number"] for r in records] == sorted(r["number"] for r in records)
    assert records[0]["ids"]["pmid"] == "35921493" and records[0]["text_file"] is None
    meta = json.loads((added.folder / "article.json").read_text())
    assert meta["last_updated"] == "2026-06-07" and meta["title"].startswith("Sarcopenia Predicts Mortality")
    assert meta["publication"]["ids"]["doi"] == "10.1111/liv.70733"
    article, _ = load_article(added.folder)
    own = article.reference(0)  # its own record
    assert own is not None and own.title == meta["title"] and own.kind == "unknown"
    _, [doc] = load_article(added.folder)
    sentences = [s for b in doc.blocks for s in document_sentences(doc, b)]
    opening = next(s for s in sentences if doc.text[s.start : s.end].startswith("Recent studies indicate"))
    assert opening.citations == (1, 2, 3)
    again = add_article(PMC, tmp_path / "corpus", article_id="tips")  # an update keeps every record
    assert not again.created and json.loads((added.folder / "references.json").read_text())["references"] == records
