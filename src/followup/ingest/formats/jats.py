"""A full-text article in JATS XML (PubMed Central, PLOS, Europe PMC, publishers' XML) read into the
corpus's article: its title, publication date, abstract and body as Markdown, and its numbered
reference list as references.json records.

Sections and subsections become headings, so a passage's breadcrumb says "Results > Adverse events";
paragraphs, lists and quotes are kept; tables, figures, formulas, boxed text and supplementary material
are left out (they are not sentences a passage can quote). Each citation (`<xref ref-type="bibr">`, one
or a run of them with the brackets, commas and dashes between) is printed in the one form the corpus
reads, the reference numbers in square brackets ("[4–6]"): PLOS prints "[4]–[6]", PubMed Central
"[4, 5, 6]" or superscripts, and an author-year citation ("Smith et al., 2010") keeps its words and
gets the numbers after it. A reference's number is its label in the list, else its place in it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from followup.core.errors import CorpusError
from followup.ingest.citations import cited_numbers
from followup.ingest.formats import xml_root

# Left out with their text: not sentences of the article (the text after each, its tail, is kept).
_LEFT_OUT = {"table-wrap", "table-wrap-group", "fig", "fig-group", "disp-formula", "supplementary-material",
             "graphic", "media", "boxed-text", "tex-math", "alternatives", "chem-struct-wrap", "ack", "fn-group",
             "app-group", "glossary", "ref-list", "label", "object-id"}  # fmt: skip
# A reference's citation, the structured forms first: a mixed citation may be plain text.
_CITATION_FORMS = ("element-citation", "nlm-citation", "mixed-citation", "citation")
_MATHML = "{http://www.w3.org/1998/Math/MathML}math"
_BLOCKS = {"p", "list", "disp-quote", "sec", "title", "def-list"}
# Between two citations of one run: brackets, commas, semicolons, dashes and spaces only.
_JOINER = re.compile(r"[\s,;–\-\[\]()]*")
_NUMERIC = re.compile(r"[\[(]?\s*\d{1,3}(?:\s*[–\-,]\s*\d{1,3})*\s*[\])]?")
# A reference's kind from words of its title (no publication types in a JATS citation).
_KIND_FROM_TITLE = (
    (r"\bsystematic review", "systematic_review"), (r"\bmeta-?analys", "meta_analysis"),
    # A guideline by what it calls itself: "Compliance with guideline recommendations" is not one.
    (r"\b(?:practice|clinical) guidelines?\b|\bguidelines? (?:for|on)\b|\brecommendations (?:for|on|of)\b",
     "guideline"),
    (r"\bconsensus (?:statement|conference|report|recommendations|guidelines?)\b|\brenewing consensus\b",
     "consensus_statement"),
    (r"\brandomi[sz]ed\b.*\btrial|\btrial\b.*\brandomi[sz]ed", "randomized_controlled_trial"),
    (r"\bcohort\b", "cohort_study"), (r"\bcase-control\b", "case_control_study"),
    (r"\bcross-sectional\b", "cross_sectional_study"), (r"\bcase report\b", "case_report"),
    (r"\bcase series\b", "case_series"), (r"\breview\b", "review"),
)  # fmt: skip


@dataclass(frozen=True)
class JatsArticle:
    title: str
    published: str  # ISO date
    markdown: str
    references: tuple[dict[str, Any], ...]  # references.json records, numbered, without text_file
    publication: dict[str, Any]  # the article's own record (article.json "publication")


def is_jats(text: str) -> bool:
    """A JATS article, from the content: an <article> root with <front> matter."""
    head = re.sub(r"<[?!][^>]*>", "", text.lstrip("\ufeff \t\r\n")[:20000]).lstrip()
    return head.startswith("<article") and "<front" in head


def read_jats(path: Path, text: str) -> JatsArticle:
    root = xml_root(path, text)
    if root.tag != "article":
        raise CorpusError(path, f"not a JATS article: the root element is <{root.tag}>, not <article>")
    meta = root.find("front/article-meta")
    if meta is None:
        raise CorpusError(path, "no <front><article-meta>: not a JATS article")
    title = _flat(meta.find("title-group/article-title"))
    if not title:
        raise CorpusError(path, "no <article-title> in <front><article-meta><title-group>")
    references = _references(root)
    numbers = {ref_id: record["number"] for ref_id, record in references.items()}
    blocks: list[str] = []
    abstract = next((a for a in meta.findall("abstract") if a.get("abstract-type") in (None, "abstract")), None)
    if abstract is not None:
        blocks += _section(abstract, "Abstract", 1, numbers)
    body = root.find("body")
    if body is None or not any(True for _ in body.iter("p")):
        raise CorpusError(path, "no <body> paragraphs: the XML holds no full text (an abstract-only record?)")
    blocks += _children(body, 1, numbers)
    published = _published(path, meta)
    return JatsArticle(title, published, "\n\n".join(blocks) + "\n", tuple(references.values()),
                       _publication(root, meta, title, int(published[:4])))  # fmt: skip


# --- the text --------------------------------------------------------------------------------------------


def _section(sec: ET.Element, heading: str, level: int, numbers: Mapping[str, int]) -> list[str]:
    content = _children(sec, level + 1, numbers)
    return [f"{'#' * level} {heading}", *content] if content and heading else content


def _children(parent: ET.Element, level: int, numbers: Mapping[str, int]) -> list[str]:
    """The Markdown blocks of a body, section or abstract: its paragraphs, lists and subsections."""
    out: list[str] = []
    for child in parent:
        if child.tag == "sec":
            out += _section(child, _flat(child.find("title")), min(level, 6), numbers)
        elif child.tag in ("p", "disp-quote"):
            out += _paragraphs(child, numbers)
        elif child.tag == "list":
            out += ["\n".join(_items(child, 0, numbers))]
    return [b for b in out if b.strip()]


def _paragraphs(p: ET.Element, numbers: Mapping[str, int]) -> list[str]:
    """A paragraph's text; a list or quote inside it splits it where it stands."""
    out: list[str] = []
    run: list[tuple[str, ET.Element | str]] = []
    for kind, item in _pieces(p):
        if kind == "block":
            assert isinstance(item, ET.Element)
            out.append(_inline(run, numbers))
            run = []
            out += ["\n".join(_items(item, 0, numbers))] if item.tag == "list" else _paragraphs(item, numbers)
        else:
            run.append((kind, item))
    out.append(_inline(run, numbers))
    return [b for b in out if b]


def _items(lst: ET.Element, depth: int, numbers: Mapping[str, int]) -> Iterator[str]:
    """Each item one bullet (its paragraphs joined), nested lists indented under it."""
    for item in lst.findall("list-item"):
        texts = [text for child in item if child.tag in ("p", "title") for text in _paragraphs(child, numbers)]
        if texts:
            yield f"{'  ' * depth}- {' '.join(texts)}"
        for child in item:
            if child.tag == "list":
                yield from _items(child, depth + 1, numbers)


def _pieces(element: ET.Element) -> Iterator[tuple[str, ET.Element | str]]:
    """An element's content in order: ("text", str), ("cite", the <xref>), ("block", a nested list or
    quote); what is left out gives nothing but its tail."""
    if element.text:
        yield "text", element.text
    for child in element:
        if child.tag in ("list", "disp-quote", "p"):
            yield "block", child
        elif child.tag == "xref" and child.get("ref-type") == "bibr":
            yield "cite", child
        elif child.tag not in _LEFT_OUT and child.tag != _MATHML and child.tag not in _BLOCKS:
            yield from _pieces(child)
        if child.tail:
            yield "text", child.tail


def _inline(run: list[tuple[str, ET.Element | str]], numbers: Mapping[str, int]) -> str:
    """The pieces as one line of text, each run of citations printed as "[n, m–k]"."""
    out: list[str] = []
    i = 0
    while i < len(run):
        kind, item = run[i]
        if kind != "cite":
            out.append(str(item))
            i += 1
            continue
        j = i  # the run of citations: cites with only joiners between them
        while j + 2 < len(run) and run[j + 1][0] == "text" and _JOINER.fullmatch(str(run[j + 1][1])) \
                and run[j + 2][0] == "cite":  # fmt: skip
            j += 2
        cites = [x for k, x in run[i : j + 1] if k == "cite" and isinstance(x, ET.Element)]
        printed = "".join(_flat(x) if k == "cite" and isinstance(x, ET.Element) else str(x) for k, x in run[i : j + 1])
        cited = _cited(cites, run[i : j + 1], numbers)
        if all(_NUMERIC.fullmatch(_flat(x)) for x in cites):
            # The printed brackets around the run go with it: "[<xref>4</xref>–<xref>6</xref>]".
            if out and out[-1].rstrip().endswith(("[", "(")):
                out[-1] = out[-1].rstrip()[:-1]
            if j + 1 < len(run) and run[j + 1][0] == "text" and str(run[j + 1][1]).lstrip().startswith(("]", ")")):
                run[j + 1] = ("text", str(run[j + 1][1]).lstrip()[1:])
            out[-1:] = [out[-1].rstrip()] if out else []
            out.append(f" [{_printed_numbers(cited)}]" if cited else "")
        else:  # author-year: its words stay, the numbers follow ("(Smith et al., 2010) [12]")
            closer = ""
            if j + 1 < len(run) and run[j + 1][0] == "text" and str(run[j + 1][1]).startswith((")", "]")):
                closer, rest = str(run[j + 1][1])[0], str(run[j + 1][1])[1:]
                run[j + 1] = ("text", rest)
            out.append(printed + closer + (f" [{_printed_numbers(cited)}]" if cited else ""))
        i = j + 1
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _cited(cites: list[ET.Element], run: list[tuple[str, ET.Element | str]], numbers: Mapping[str, int]) -> list[int]:
    """The reference numbers a run of citations names; a dash between two of them is a range."""
    cited: list[int] = []
    dash = False
    for kind, item in run:
        if kind == "text":
            dash = dash or bool(re.search(r"[–-]", str(item)))
            continue
        assert isinstance(item, ET.Element)
        found = [numbers[r] for r in (item.get("rid") or "").split() if r in numbers]
        inner = cited_numbers(_flat(item))  # "[1–3]" printed in one xref
        if len(found) == 1 and inner and inner[0] == found[0]:
            found = list(inner)
        if dash and cited and found and 0 < found[0] - cited[-1] <= 100:
            found = [*range(cited[-1] + 1, found[0]), *found]
        cited += found
        dash = False
    return list(dict.fromkeys(cited))


def _printed_numbers(numbers: list[int]) -> str:
    """[4, 5, 6, 9] -> "4–6, 9"."""
    parts: list[str] = []
    run_start = previous = None
    for n in [*sorted(numbers), None]:
        if previous is not None and n == previous + 1:
            previous = n
            continue
        if run_start is not None and previous is not None:
            parts.append(str(run_start) if run_start == previous else f"{run_start}–{previous}"
                         if previous - run_start > 1 else f"{run_start}, {previous}")  # fmt: skip
        run_start = previous = n
    return ", ".join(parts)


def _flat(element: ET.Element | None) -> str:
    """An element's text, inline markup flattened, whitespace as one space each; formulas left out."""
    if element is None:
        return ""
    parts: list[str] = []

    def walk(e: ET.Element) -> None:
        if e.tag in _LEFT_OUT or e.tag == _MATHML:
            return
        if e.text:
            parts.append(e.text)
        for child in e:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return " ".join("".join(parts).split())


# --- front matter and references -------------------------------------------------------------------------


def _published(path: Path, meta: ET.Element) -> str:
    dates = meta.findall("pub-date")
    preferred = sorted(dates, key=lambda d: 0 if (d.get("pub-type") or d.get("date-type")) in ("epub", "pub") else 1)
    for date in preferred:
        year, month, day = (_flat(date.find(part)) for part in ("year", "month", "day"))
        if year.isdigit():
            return f"{int(year):04d}-{int(month) if month.isdigit() else 1:02d}-{int(day) if day.isdigit() else 1:02d}"
    raise CorpusError(path, "no <pub-date> with a <year> in <article-meta>")


# The kind an article type names, where its title names none (JATS @article-type, JATS4R's list).
_KIND_OF_ARTICLE_TYPE = {
    "review-article": "review", "systematic-review": "systematic_review", "meta-analysis": "meta_analysis",
    "case-report": "case_report", "editorial": "editorial", "letter": "editorial", "commentary": "editorial",
    "practice-guideline": "guideline", "guideline": "guideline",
}  # fmt: skip


def _publication(root: ET.Element, meta: ET.Element, title: str, year: int) -> dict[str, Any]:
    """The article's own record: what its findings, stated in sentences that cite nothing, are
    grounded in. Its kind from the title ("... A Randomised Controlled Trial"), else its article type."""
    id_kinds = {"pmid": "pmid", "doi": "doi", "pmc": "pmcid", "pmcid": "pmcid"}
    ids = {kind: _flat(found) for found in meta.findall("article-id")
           if (kind := id_kinds.get(found.get("pub-id-type", "")))}  # fmt: skip
    if ids.get("pmcid", "").isdigit():
        ids["pmcid"] = f"PMC{ids['pmcid']}"
    names = [n for contrib in meta.findall("contrib-group/contrib") if contrib.get("contrib-type") == "author"
             for n in contrib.findall("name")]  # fmt: skip
    authors = ", ".join(f"{_flat(n.find('surname'))} {_initials(_flat(n.find('given-names')))}".strip() for n in names)
    journal = _flat(root.find("front/journal-meta/journal-title-group/journal-title")) or _flat(
        root.find("front/journal-meta/journal-title")
    )
    kind = kind_from_title(title)
    if kind == "unknown":
        kind = _KIND_OF_ARTICLE_TYPE.get(root.get("article-type", ""), "unknown")
    record: dict[str, Any] = {
        "title": title, "authors": authors or None, "journal": journal or None, "year": year, "kind": kind,
        "ids": ids,
        "url": f"https://doi.org/{ids['doi']}" if "doi" in ids else
               f"https://pubmed.ncbi.nlm.nih.gov/{ids['pmid']}/" if "pmid" in ids else None,
    }  # fmt: skip
    return {k: v for k, v in record.items() if v not in (None, "", {})}


def _references(root: ET.Element) -> dict[str, dict[str, Any]]:
    """Each <ref> of the reference list by its id: numbered by its label, else by its place."""
    records: dict[str, dict[str, Any]] = {}
    for place, ref in enumerate(root.findall("back/ref-list/ref") + root.findall("back/ref-list/ref-list/ref"), 1):
        label = re.sub(r"\D", "", _flat(ref.find("label")))
        number = int(label) if label and len(label) <= 4 else place
        records[ref.get("id") or f"ref-{place}"] = {"number": number, **_citation_fields(ref)}
    return records


def _citation_fields(ref: ET.Element) -> dict[str, Any]:
    found = {c.tag: c for c in reversed(list(ref.iter())) if c.tag in _CITATION_FORMS}
    citation = next((found[tag] for tag in _CITATION_FORMS if tag in found), None)
    if citation is None:
        return {"kind": "unknown"}
    title = _flat(citation.find("article-title")) or _flat(citation.find("chapter-title"))
    source = _flat(citation.find("source"))
    names = [n for n in citation.iter() if n.tag in ("name", "string-name")]
    authors = ", ".join(f"{_flat(n.find('surname'))} {_initials(_flat(n.find('given-names')))}".strip() for n in names)
    if citation.find("etal") is not None or re.search(r"\bet al\b", _flat(citation)):
        authors += " et al." if authors else ""
    year = re.sub(r"\D", "", _flat(citation.find("year")))[:4]
    ids = {kind: _flat(found) for found in citation.iter("pub-id")
           if (kind := {"pmid": "pmid", "doi": "doi", "pmcid": "pmcid"}.get(found.get("pub-id-type", "")))}  # fmt: skip
    fields: dict[str, Any] = {
        "title": title or source or _flat(citation)[:300],
        "authors": authors or (_flat(citation.find("collab")) or None),
        "journal": source if title else None,
        "year": int(year) if year else None,
        "kind": kind_from_title(title),
        "ids": ids,
        "url": f"https://pubmed.ncbi.nlm.nih.gov/{ids['pmid']}/" if "pmid" in ids else
               f"https://doi.org/{ids['doi']}" if "doi" in ids else None,
    }  # fmt: skip
    return {k: v for k, v in fields.items() if v not in (None, "", {}, [])}


def _initials(given: str) -> str:
    """ "Hugh" -> "H", "Leigh F." -> "LF", "FW" stays."""
    if re.fullmatch(r"[A-Z]{1,3}", given):
        return given
    return "".join(w[0] for w in re.findall(r"[^\W\d_][\w'-]*", given))


def kind_from_title(title: str) -> str:
    """The kind a title names ("... a systematic review", "A randomised controlled trial of ..."), else
    unknown: a plain research paper's title says nothing a tier can rest on."""
    lowered = title.casefold()
    return next((kind for pattern, kind in _KIND_FROM_TITLE if re.search(pattern, lowered)), "unknown")
