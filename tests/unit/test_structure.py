from __future__ import annotations

from followup.ingest.structure import markdown_blocks, plain_blocks

MARKDOWN = """# From the Label

Diazepam is useful. The causes include:

- Reflex spasm, such as:
  - Trauma
- Athetosis 2

## Sub

Last paragraph
continues here.
"""


def test_markdown_blocks_carry_breadcrumbs_and_exact_offsets() -> None:
    blocks = markdown_blocks(MARKDOWN)
    texts = [MARKDOWN[b.start : b.end] for b in blocks]
    assert texts == [
        "Diazepam is useful. The causes include:",
        "Reflex spasm, such as:",
        "Trauma",
        "Athetosis 2",
        "Last paragraph\ncontinues here.",
    ]
    assert [b.section for b in blocks] == [("From the Label",)] * 4 + [("From the Label", "Sub")]


def test_list_items_keep_their_lead_in_as_context() -> None:
    blocks = markdown_blocks(MARKDOWN)
    assert blocks[1].lead_in == "The causes include:"
    assert blocks[2].lead_in == "The causes include: Reflex spasm, such as:"
    assert blocks[3].lead_in == "The causes include:"
    assert blocks[4].lead_in == ""


def test_plain_text_short_unpunctuated_line_is_a_heading() -> None:
    text = "Abstract (truncated copy)\n\nFirst sentence. Second one.\n\nINDICATIONS\n\nUse it.\n"
    blocks = plain_blocks(text)
    assert [text[b.start : b.end] for b in blocks] == ["First sentence. Second one.", "Use it."]
    assert [b.section for b in blocks] == [("Abstract",), ("INDICATIONS",)]
