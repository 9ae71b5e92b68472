"""The answer as a reader receives it: the answer contract's dataclasses and an arrangement presented
as one (`contract`: verbatim text with offsets, display text, source labels), and the contract as
JSON, as text for a clinician and as chat Markdown (`render`); an article's references as RIS and
CSL-JSON for reference managers (`citation_export`, with `author_names`). Nothing here changes quoted
words. May import every stage below it."""
