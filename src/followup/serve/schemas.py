"""HTTP request and response models, apart from the internal types (validated at the edge)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from followup.core.feedback import MAX_COMMENT_CHARS, Verdict
from followup.core.settings import MAX_HISTORY_TURNS, MAX_QUESTION_CHARS, MAX_TOP_K, Mode
from followup.core.types import EARLIEST_YEAR, LATEST_YEAR


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# A question of a conversation, and the questions before it: what /v1/ask and /v1/feedback both take.
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUESTION_CHARS), AfterValidator(_not_blank)]
History = Annotated[list[Text], Field(max_length=MAX_HISTORY_TURNS)]


TierName = Literal[
    "guideline", "drug_label", "systematic_review", "rct", "observational", "review", "case_report", "preclinical",
    "unreferenced",
]  # fmt: skip
# At least one tier, each once; null (or absent): every tier.
Tiers = Annotated[list[TierName], Field(min_length=1, max_length=len(get_args(TierName)))] | None
Since = Annotated[StrictInt, Field(ge=EARLIEST_YEAR, le=LATEST_YEAR)] | None
TIERS_DOC = (
    "answer only from evidence of these tiers: a passage passes when a reference it cites is of one of "
    "them (article text keeps the tiers of what it cites); absent or null: every tier"
)
SINCE_DOC = (
    "answer only from evidence published this year or later (article text keeps the years of what it "
    "cites; a reference of unknown year does not pass); absent or null: any year"
)


class AskBody(BaseModel):
    """A follow-up question with the conversation so far."""

    model_config = ConfigDict(extra="forbid")

    question: Text = Field(description="the follow-up question", examples=["What dose should be used?"])
    history: History = Field(
        default_factory=list,
        description="earlier questions of the conversation, oldest first",
        examples=[["Which medication treats spasticity in multiple sclerosis?"]],
    )
    article_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="answer from this article only; all articles when absent"
    )
    # Strict: "5", true and 2.0 are not a number of passages (lax mode would take them as 5, 1, 2).
    top_k: Annotated[StrictInt, Field(ge=1, le=MAX_TOP_K)] = 5
    mode: Mode = "hybrid"
    tiers: Tiers = Field(default=None, description=TIERS_DOC, examples=[["guideline", "systematic_review"]])
    since: Since = Field(default=None, description=SINCE_DOC, examples=[2015])


class FeedbackBody(BaseModel):
    """A clinician's verdict on one passage of an answer, with the conversation the answer was for."""

    model_config = ConfigDict(extra="forbid")

    question: Text = Field(description="the question the passage was shown for, as sent to /v1/ask")
    history: History = Field(default_factory=list, description="the earlier questions sent with it, oldest first")
    article_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="the article the passage's source belongs to"
    )
    build: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="the answer's X-Followup-Build header: the build that answered"
    )
    source_id: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(
        description="the passage's source_id"
    )
    start: Annotated[StrictInt, Field(ge=0)] = Field(description="the passage's start offset in its source's text")
    end: Annotated[StrictInt, Field(ge=1)] = Field(description="the passage's end offset, after start")
    verdict: Verdict = Field(
        description="answers: it answers the question; relevant: evidence wanted beside the answer; "
        "not_relevant; wrong: incorrect, unsafe or misquoted"
    )
    comment: Annotated[str, StringConstraints(max_length=MAX_COMMENT_CHARS)] | None = Field(
        default=None, description="why, in the clinician's words (optional)"
    )

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, value: int, info: ValidationInfo) -> int:
        start = info.data.get("start")
        if isinstance(start, int) and value <= start:
            raise ValueError("must be greater than start")
        return value

    @field_validator("comment")
    @classmethod
    def _blank_comment_is_none(cls, value: str | None) -> str | None:
        return value if value is not None and value.strip() else None


class FeedbackCreated(BaseModel):
    id: int = Field(description="the report's id in the feedback file")
    created_at: str = Field(description="when it was stored, UTC (2026-12-08T09:30:00.123456Z)")


class QuoteOut(BaseModel):
    source_id: str
    source_label: str = Field(description='the source and place as a person names them: "Chou 2004 · '
                              'systematic review · Abstract"; show this, not source_id')  # fmt: skip
    section: str
    text: str
    start: int
    end: int
    citations: list[int]


class PassageOut(BaseModel):
    rank: int
    role: Literal["answer", "evidence"] = Field(
        description="answer: passages[0], the passage that answers best, whatever its tier; evidence: the "
        "other passages that also answer, by tier (best first), then score. Every passage is cited."
    )
    text: str = Field(description="exactly the source's text[start:end]")
    display_text: str = Field(description="the same words with citation numbers written as [n]")
    source_id: str = Field(description="the source's id: GET /v1/sources/{source_id} gives its whole text")
    source_label: str = Field(description='the source and place as a person names them: "VALIUM label · '
                              'Indications and Usage", "This article · From the Guidelines > Treatment"')  # fmt: skip
    section: str
    citations: list[int]
    tier: str
    tier_rank: int
    score: float
    start: int
    end: int
    also_in: list[QuoteOut]


class ReferenceOut(BaseModel):
    article_id: str
    number: int
    title: str | None
    authors: str | None
    journal: str | None
    year: int | None
    kind: str
    tier: str
    tier_rank: int
    label: str = Field(description='the reference as cited in conversation: "Chou 2004 · systematic review"')
    ids: dict[str, str]
    url: str | None
    links: dict[str, str] = Field(description="pubmed, doi and dailymed addresses, where the identifiers are known")
    retracted: bool
    retraction_notices: list[str] = Field(description="PMIDs of the notices that retracted it, as PubMed gives them")


class FilterOut(BaseModel):
    tiers: list[TierName] | None = Field(description="the tiers the answer was taken from; null: every tier")
    since: int | None = Field(description="the earliest year of what the answer cites; null: any year")


class AnswerOut(BaseModel):
    question: str
    query: str = Field(description="the retrieval query after follow-up resolution and lay-term expansion")
    article_id: str | None
    answered: bool = Field(description="false when the sources do not answer; passages are then empty")
    not_covered: list[str] = Field(
        description="when not answered: medications (as the question wrote them) and clinical facets "
        "(pregnancy, children, overdose, ...) the question names and the sources do not address; "
        "empty when the sources are simply not relevant enough"
    )
    filter: FilterOut = Field(description="the evidence filter the question was answered under (tiers, since)")
    excluded_by_filter: bool = Field(
        description="when not answered: true when the sources do answer, but only from evidence the filter "
        "excludes (widen or drop the filter to see it)"
    )
    passages: list[PassageOut]
    references: list[ReferenceOut]


class ArticleSummary(BaseModel):
    id: str
    title: str
    question: str
    last_updated: str
    references: int


class ArticleOut(BaseModel):
    id: str
    title: str
    question: str
    last_updated: str
    references: list[ReferenceOut]


class SectionOut(BaseModel):
    start: int
    end: int
    heading: list[str] = Field(description="the section's breadcrumb, outermost first")
    lead_in: str = Field(description="the sentence introducing a list, when the block is one")


class CitationMarkerOut(BaseModel):
    start: int
    end: int
    numbers: list[int] = Field(description="the reference numbers the article cites at text[start:end]")


class SourceOut(BaseModel):
    source_id: str
    article_id: str
    label: str = Field(description='"This article", or the reference as cited: "Chou 2004 · systematic review"')
    title: str
    text: str = Field(description="the whole source text; every passage's start/end are offsets into it")
    sections: list[SectionOut] = Field(description="the text's blocks in order, with their section headings")
    citations: list[CitationMarkerOut] = Field(description="where the article cites its references (article only)")
    reference: ReferenceOut | None = Field(description="the reference this source is; null for the article")


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    build: str = Field(description="the build answering: its directory under index/builds/")
    index: dict[str, Any]


class ReloadOut(BaseModel):
    build: str = Field(description="the build answering now")
    previous: str | None = Field(description="the build that answered before the reload")
    changed: bool = Field(description="whether the reload switched to another build")


class ErrorOut(BaseModel):
    detail: str


# OpenAI-compatible chat completions: what off-the-shelf chat UIs and SDKs send and expect.


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text or "" for part in self.content or [] if part.type == "text")


class ChatBody(BaseModel):
    """Unknown OpenAI parameters (temperature, max_tokens, ...) are accepted and ignored: the answer is
    extractive, nothing is generated."""

    model_config = ConfigDict(extra="allow")
    model: Annotated[str, StringConstraints(max_length=200)] = "followup"
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=4 * MAX_HISTORY_TURNS)]
    stream: StrictBool = False
    # Not OpenAI's: the SDKs send them as extra body fields (`extra_body={"tiers": [...], "since": 2015}`).
    tiers: Tiers = Field(default=None, description=TIERS_DOC)
    since: Since = Field(default=None, description=SINCE_DOC)


class UrlCitation(BaseModel):
    start_index: int = Field(description="where the quote starts in `content` (a str index: Unicode code points)")
    end_index: int = Field(description="where it ends (exclusive): content[start_index:end_index] is the quote")
    url: str = Field(description="the source: its PubMed, DOI or DailyMed page, or this server's page showing "
                     "the passage in its source")  # fmt: skip
    title: str = Field(description='the source and place as a person names them: "Chou 2004 · systematic review · '
                       'Abstract"')  # fmt: skip


class ChatAnnotation(BaseModel):
    type: Literal["url_citation"]
    url_citation: UrlCitation


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"]
    content: str
    annotations: list[ChatAnnotation] = Field(description="one url_citation per quoted passage, in order")


class ChatChoice(BaseModel):
    index: int
    message: ChatChoiceMessage
    finish_reason: Literal["stop"]


class ChatUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage
    followup: AnswerOut = Field(description="the structured answer behind the markdown")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]
