// The follow-up page: the article as a clinician reads it (from /v1/sources/{article}), then the follow-up
// box, which asks /v1/ask with the conversation so far and shows the verbatim, cited passages, each with a
// "Show in source" button that highlights exactly text[start:end] in its source, and thumbs up / down and
// "Report a problem" to tell /v1/feedback what the clinician thinks of it.
// Source text is only ever set with textContent / text nodes, never parsed as HTML; no question is logged.
"use strict";

const TIER_HEADINGS = {
  guideline: "From the Guidelines",
  drug_label: "From the FDA Drug Label",
  systematic_review: "From the Research: systematic reviews",
  rct: "From the Research: randomised trials",
  observational: "From the Research: observational studies",
  review: "From the Research: reviews",
  case_report: "From the Research: case reports",
  preclinical: "From the Research: preclinical studies",
  unreferenced: "Citing a source of unknown kind",
};
const UNCITED = "From the article, without a citation (not evidence)";
// Each tier as a filter names it, in tier order (render.TIER_NAMES).
const TIER_NAMES = {
  guideline: "guidelines",
  drug_label: "drug labels",
  systematic_review: "systematic reviews",
  rct: "randomised trials",
  observational: "observational studies",
  review: "reviews",
  case_report: "case reports",
  preclinical: "preclinical studies",
  unreferenced: "sources of unknown kind",
};
const NOT_ANSWERED = "The article and its references do not answer this question.";
const LINK_NAMES = { pubmed: "PubMed", doi: "doi.org", dailymed: "DailyMed" };
const BUILD_HEADER = "X-Followup-Build"; // the build an answer came from, sent back with feedback on it
const VERDICTS = {
  wrong: "Wrong: incorrect, unsafe or misquoted",
  not_relevant: "Not relevant to the question",
  relevant: "Relevant, but does not answer",
  answers: "Answers the question",
};
const CONTENTS_MIN_HEADINGS = 3; // a contents list for articles with at least this many headings

const state = {
  history: [],
  articles: [],
  articleId: null,
  article: null, // {id, source, blocks: [{start, end, el}], marked: [block]}
  sources: new Map(), // source_id -> promise of the /v1/sources body
  turn: 0,
  feedbackControls: 0, // numbers the ids of the feedback forms' fields
  opener: null, // the "Show in source" button the side panel was opened from
  backTo: null, // the "Show in source" button of the passage highlighted in the article
};
const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function visuallyHidden(text) {
  return element("span", "visually-hidden", text);
}

function headers() {
  const result = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem("followup-api-key");
  if (key) result.Authorization = `Bearer ${key}`;
  return result;
}

// The response of a request that succeeded; on 401 the key is asked for once and the request sent again.
async function respond(path, options = {}) {
  let response = await fetch(path, { ...options, headers: headers() });
  if (response.status === 401) {
    const key = window.prompt("This service needs an API key:");
    if (key) {
      sessionStorage.setItem("followup-api-key", key);
      response = await fetch(path, { ...options, headers: headers() });
    }
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      detail = typeof body.detail === "string" ? body.detail : body.detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; ");
    } catch (_) { /* keep the status line */ }
    throw new Error(detail);
  }
  return response;
}

async function call(path, options = {}) {
  return (await respond(path, options)).json();
}

function source(sourceId) {
  if (!state.sources.has(sourceId)) {
    const promise = call(`/v1/sources/${sourceId.split("/").map(encodeURIComponent).join("/")}`);
    promise.catch(() => state.sources.delete(sourceId));
    state.sources.set(sourceId, promise);
  }
  return state.sources.get(sourceId);
}

// ---- references -------------------------------------------------------------------------------------

function citeLine(ref) {
  const parts = [ref.authors, ref.title || "(unidentified reference)", ref.journal, ref.year && String(ref.year)];
  const ids = [ref.ids.pmid && `PMID ${ref.ids.pmid}`, ref.ids.doi && `doi:${ref.ids.doi}`].filter(Boolean).join(" ");
  const line = parts.filter(Boolean).map((p) => p.replace(/\.+$/, "")).join(". ");
  return `${line}. ${ids ? ids + " " : ""}(${ref.tier.replace("_", " ")}${ref.retracted ? ", RETRACTED" : ""})`;
}

// PubMed / doi.org / DailyMed as real links, opened in a new tab.
function referenceLinks(ref) {
  const span = element("span", "ref-links");
  for (const [key, name] of Object.entries(LINK_NAMES)) {
    const url = ref.links && ref.links[key];
    if (!url) continue;
    if (span.childNodes.length) span.append(" · ");
    const link = element("a", null, name);
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.append(visuallyHidden(` for reference ${ref.number} (opens in a new tab)`));
    span.append(link);
  }
  return span;
}

function referenceItem(ref, id) {
  const item = element("li", ref.retracted ? "retracted" : null, `[${ref.number}] ${citeLine(ref)}`);
  item.id = id;
  const links = referenceLinks(ref);
  if (links.childNodes.length) item.append(" ", links);
  return item;
}

// ---- inline text with citation links and an optional <mark> ----------------------------------------

// Appends text[start:end] to container as text nodes, the citation numbers in it as links to the article's
// reference list (brackets drawn by CSS, so the DOM text stays exactly the source text), and the part in
// mark = [from, to) inside one <mark>. Returns the <mark> element, if any.
function appendInline(container, text, start, end, citations, mark) {
  const cuts = new Set([start, end]);
  const inside = citations.filter((c) => c.end > start && c.start < end);
  for (const c of inside) cuts.add(Math.max(c.start, start)).add(Math.min(c.end, end));
  let markEl = null;
  if (mark && mark[1] > start && mark[0] < end) {
    cuts.add(Math.max(mark[0], start)).add(Math.min(mark[1], end));
    markEl = element("mark", "source-mark");
    markEl.tabIndex = -1;
  }
  const points = [...cuts].sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const target = markEl && a >= mark[0] && b <= mark[1] ? markEl : container;
    if (target === markEl && !markEl.parentNode) container.append(markEl);
    const citation = inside.find((c) => c.start <= a && b <= c.end);
    const piece = text.slice(a, b);
    if (!citation) {
      target.append(piece);
      continue;
    }
    for (const token of piece.match(/\d+|\D+/g) || []) {
      if (!/^\d+$/.test(token)) {
        target.append(token);
        continue;
      }
      const link = element("a", "cite ref-cite", token);
      link.href = `#ref-${token}`;
      const ref = state.article && state.article.refs.get(Number(token));
      if (ref) link.title = ref.label;
      target.append(link);
    }
  }
  return markEl;
}

// ---- the article ------------------------------------------------------------------------------------

function headingId(index) {
  return `section-${index + 1}`;
}

// The blocks of /v1/sources/{article} in order: a heading whenever the breadcrumb changes, Markdown
// bullets ("- ", nested by indentation) as list items, other blocks as paragraphs.
function renderArticle(articleSource, references) {
  const body = $("article-body");
  const contents = $("contents-list");
  body.replaceChildren();
  contents.replaceChildren();
  const text = articleSource.text;
  const blocks = [];
  let breadcrumb = [];
  let lists = []; // the open <ul> elements, one per bullet depth
  let headingCount = 0;
  for (const section of articleSource.sections) {
    const heading = section.heading || [];
    let same = 0;
    while (same < heading.length && same < breadcrumb.length && heading[same] === breadcrumb[same]) same++;
    if (same < heading.length || heading.length < breadcrumb.length) {
      for (let level = same; level < heading.length; level++) {
        const h = element(`h${Math.min(level + 2, 6)}`, "article-heading", heading[level]);
        h.id = headingId(headingCount++);
        body.append(h);
        const item = element("li", `level-${level + 1}`);
        const link = element("a", null, heading[level]);
        link.href = `#${h.id}`;
        item.append(link);
        contents.append(item);
      }
      breadcrumb = heading;
      lists = [];
    }
    const lineStart = text.lastIndexOf("\n", section.start - 1) + 1;
    const prefix = text.slice(lineStart, section.start);
    const bullet = /^(\s*)(?:[-*+]|\d+[.)])\s+$/.exec(prefix);
    let el;
    let textEl;
    if (bullet) {
      const depth = Math.floor(bullet[1].replace(/\t/g, "  ").length / 2);
      lists = lists.slice(0, depth + 1);
      while (lists.length < depth + 1) {
        const list = element("ul", "article-list");
        const parent = lists.length ? lists.at(-1).lastElementChild : null;
        (parent || body).append(list);
        lists.push(list);
      }
      el = element("li");
      textEl = element("span", "block-text");
      el.append(textEl);
      lists.at(-1).append(el);
    } else {
      lists = [];
      el = textEl = element("p", "block-text");
      body.append(el);
    }
    el.dataset.start = section.start;
    el.dataset.end = section.end;
    appendInline(textEl, text, section.start, section.end, articleSource.citations, null);
    blocks.push({ start: section.start, end: section.end, el: textEl });
  }
  $("contents").hidden = headingCount < CONTENTS_MIN_HEADINGS;

  const list = $("reference-list");
  list.replaceChildren(...references.map((ref) => referenceItem(ref, `ref-${ref.number}`)));
  $("article-references").hidden = !references.length;
  return blocks;
}

function clearArticleMarks() {
  const article = state.article;
  if (!article) return;
  for (const block of article.marked) {
    block.el.replaceChildren();
    appendInline(block.el, article.source.text, block.start, block.end, article.source.citations, null);
  }
  article.marked = [];
}

// Highlights text[start:end] of the shown article in place; returns the first <mark>, or null when no
// block of the article holds the range.
function markInArticle(start, end) {
  const article = state.article;
  clearArticleMarks();
  let first = null;
  for (const block of article.blocks) {
    if (block.end <= start || block.start >= end) continue;
    block.el.replaceChildren();
    const mark = appendInline(block.el, article.source.text, block.start, block.end, article.source.citations, [start, end]);
    article.marked.push(block);
    first = first || mark;
  }
  return first;
}

function formatDate(iso) {
  const date = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString("en-US", { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" });
}

async function chooseArticle(summary) {
  state.articleId = summary.id;
  state.history = [];
  $("conversation").replaceChildren();
  $("article-title").textContent = summary.title;
  document.title = `${summary.title} · followup`;
  const updated = $("article-updated");
  updated.hidden = !summary.last_updated;
  if (summary.last_updated) {
    const time = element("time", null, formatDate(summary.last_updated));
    time.dateTime = summary.last_updated;
    updated.replaceChildren("Last updated: ", time);
  }
  const [detail, articleSource] = await Promise.all([call(`/v1/articles/${encodeURIComponent(summary.id)}`), source(summary.id)]);
  if (state.articleId !== summary.id) return; // another article was chosen meanwhile
  state.article = { id: summary.id, source: articleSource, refs: new Map(detail.references.map((r) => [r.number, r])), blocks: [], marked: [] };
  state.article.blocks = renderArticle(articleSource, detail.references);
  document.body.dataset.article = summary.id; // the article is on the page
}

// ---- "Show in source" -------------------------------------------------------------------------------

function focusMark(mark) {
  mark.scrollIntoView({ block: "center" });
  mark.focus({ preventScroll: true });
}

async function showInSource(place, button) {
  const articleId = place.source_id.split("/")[0];
  if (!place.source_id.includes("/") && state.article && articleId === state.article.id) {
    const mark = markInArticle(place.start, place.end);
    if (mark) {
      state.backTo = button;
      $("back-to-answer").hidden = false;
      $("status").textContent = `Highlighted in the article: ${place.source_label}.`;
      $("status").className = "";
      focusMark(mark);
      return;
    }
  }
  try {
    await openPanel(place, button);
  } catch (error) {
    $("status").textContent = `Could not open the source: ${error.message}`;
    $("status").className = "error";
  }
}

// The source's text in the side panel (a modal <dialog>: Escape or the close button closes it), its
// sections under their headings, with text[start:end] in a <mark>.
async function openPanel(place, button) {
  const body = await source(place.source_id);
  const panel = $("source-panel");
  $("source-panel-title").textContent = body.label;
  const meta = $("source-panel-meta");
  meta.replaceChildren();
  if (body.reference) {
    meta.append(citeLine(body.reference));
    const links = referenceLinks(body.reference);
    if (links.childNodes.length) meta.append(" ", links);
  } else if (body.title) {
    meta.append(body.title);
  }
  const content = $("source-panel-body");
  content.replaceChildren();
  const sections = body.sections.length ? body.sections : [{ start: 0, end: body.text.length, heading: [] }];
  let shownHeading = null;
  let first = null;
  for (const section of sections) {
    const heading = (section.heading || []).join(" › ");
    if (heading && heading !== shownHeading) content.append(element("h3", "panel-heading", heading));
    shownHeading = heading;
    const block = element("div", "source-text");
    const mark = appendInline(block, body.text, section.start, section.end, body.citations, [place.start, place.end]);
    first = first || mark;
    content.append(block);
  }
  state.opener = button;
  if (!panel.open) panel.showModal();
  if (first) focusMark(first);
  else $("source-close").focus();
}

// Back from the highlight in the article to the passage's button (the button, or Escape).
function backToAnswer() {
  const button = state.backTo;
  state.backTo = null;
  $("back-to-answer").hidden = true;
  if (button && button.isConnected) {
    button.scrollIntoView({ block: "center" });
    button.focus({ preventScroll: true });
  }
}

function closePanel() {
  const panel = $("source-panel");
  if (panel.open) panel.close();
}

// ---- the conversation -------------------------------------------------------------------------------

// "[1]" and "[4, 5]" become links to the reference list of this turn.
function withCitationLinks(text, turn, articleId) {
  const fragment = document.createDocumentFragment();
  const pattern = /\[(\d+(?:,\s*\d+)*)\]/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    fragment.append(text.slice(last, match.index));
    fragment.append("[");
    match[1].split(/,\s*/).forEach((number, i) => {
      if (i) fragment.append(", ");
      const link = element("a", "cite", number);
      link.href = `#ref-${turn}-${articleId}-${number}`;
      fragment.append(link);
    });
    fragment.append("]");
    last = match.index + match[0].length;
  }
  fragment.append(text.slice(last));
  return fragment;
}

// The heading a passage is shown under, as render.heading_for words it for the CLI and chat markdown.
function headingFor(passage) {
  return passage.citations.length ? TIER_HEADINGS[passage.tier] : UNCITED;
}

function showButton(place, text) {
  const button = element("button", "show-source", text);
  button.type = "button";
  button.append(visuallyHidden(`: ${place.source_label}`));
  button.addEventListener("click", () => showInSource(place, button));
  return button;
}

function appendPassage(container, passage, turn, asked) {
  const articleId = passage.source_id.split("/")[0];
  const quote = element("blockquote", "passage");
  quote.append(withCitationLinks(passage.display_text, turn, articleId));
  container.append(quote);
  const line = element("p", "source");
  line.append(element("span", "source-label", passage.source_label), " ", showButton(passage, "Show in source"));
  container.append(line);
  if (passage.also_in.length) {
    const also = element("ul", "also-in");
    for (const place of passage.also_in) {
      const item = element("li", null, "Also in ");
      item.append(element("span", "source-label", place.source_label), " ", showButton(place, "Show"));
      also.append(item);
    }
    container.append(also);
  }
  container.append(feedbackControl(passage, asked));
}

// ---- feedback on a passage --------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

// A thumb drawn here (no icon font, no CDN): up, or turned to point down.
function thumbIcon(down) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", "M2 10h4v11H2zM8 10l4-7c1.6 0 2.6 1.2 2.2 2.8L13.4 10H19c1.5 0 2.5 1.4 2.1 2.8l-1.9 6.6c-.3 1-1 1.6-2 1.6H8z");
  if (down) path.setAttribute("transform", "rotate(180 12 12)");
  svg.append(path);
  return svg;
}

// Thumbs up (it answers, for the answer; relevant, for evidence), thumbs down (not relevant), and a
// disclosure to report it wrong or choose another verdict, with an optional comment. Each sends
// POST /v1/feedback with the conversation it answered and the build that answered; the thumb of the
// verdict recorded is shown pressed and a status line says it was recorded.
function feedbackControl(passage, asked) {
  const n = ++state.feedbackControls;
  const box = element("div", "feedback");
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", "Feedback on this passage");
  const upVerdict = passage.role === "answer" ? "answers" : "relevant";
  const up = thumbButton(false, passage.role === "answer" ? "It answers the question" : "Relevant");
  const down = thumbButton(true, "Not relevant");
  const status = element("span", "feedback-status");
  status.setAttribute("role", "status");
  const more = element("details", "feedback-more");
  more.append(element("summary", null, "Report a problem"));
  const form = element("form", "feedback-form");
  const selectId = `feedback-verdict-${n}`;
  const commentId = `feedback-comment-${n}`;
  const verdictLabel = element("label", null, "This passage is");
  verdictLabel.htmlFor = selectId;
  const select = element("select");
  select.id = selectId;
  for (const [value, text] of Object.entries(VERDICTS)) select.append(new Option(text, value));
  const commentLabel = element("label", null, "Comment (optional)");
  commentLabel.htmlFor = commentId;
  const comment = element("textarea");
  comment.id = commentId;
  comment.rows = 2;
  comment.maxLength = 2000;
  const send = element("button", "feedback-send", "Send");
  send.type = "submit";
  form.append(verdictLabel, select, commentLabel, comment, send);
  more.append(form);

  let sending = false; // the buttons stay enabled while a report is sent: a disabled button would lose focus
  async function record(verdict, note) {
    if (sending) return false;
    sending = true;
    status.className = "feedback-status";
    status.textContent = "Sending…";
    try {
      await sendFeedback(passage, asked, verdict, note);
      const positive = verdict === "answers" || verdict === "relevant";
      up.setAttribute("aria-pressed", String(positive));
      down.setAttribute("aria-pressed", String(!positive));
      status.textContent = "Thanks, recorded.";
      return true;
    } catch (error) {
      status.className = "feedback-status error";
      status.textContent = `Could not record it: ${error.message}`;
      return false;
    } finally {
      sending = false;
    }
  }
  up.addEventListener("click", () => record(upVerdict));
  down.addEventListener("click", () => record("not_relevant"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await record(select.value, comment.value.trim())) {
      comment.value = "";
      more.open = false;
      more.querySelector("summary").focus();
    }
  });
  box.append(up, down, more, status);
  return box;
}

function thumbButton(down, label) {
  const button = element("button", down ? "thumb thumb-down" : "thumb thumb-up");
  button.type = "button";
  button.setAttribute("aria-pressed", "false");
  button.title = label;
  button.append(thumbIcon(down), visuallyHidden(label));
  return button;
}

async function sendFeedback(passage, asked, verdict, comment) {
  const body = {
    question: asked.question,
    history: asked.history,
    article_id: passage.source_id.split("/")[0],
    build: asked.build || "unknown",
    source_id: passage.source_id,
    start: passage.start,
    end: passage.end,
    verdict,
  };
  if (comment) body.comment = comment;
  return call("/v1/feedback", { method: "POST", body: JSON.stringify(body) });
}

// <section class="answer" aria-labelledby="answer-N"><header><h2>Answer</h2><p>tier</p></header>...</section>
function answerBox(passage, turn, asked) {
  const box = element("section", "answer");
  const title = element("h2", "answer-title", "Answer");
  title.id = `answer-${turn}`;
  box.setAttribute("aria-labelledby", title.id);
  const head = element("header", "answer-head");
  head.append(title, element("p", "answer-tier", headingFor(passage)));
  box.append(head);
  appendPassage(box, passage, turn, asked);
  return box;
}

// `context`: the build that answered and the history sent with the question, for feedback on a passage.
function renderAnswer(answer, context) {
  const turn = ++state.turn;
  const asked = { question: answer.question, history: context.history, build: context.build };
  const block = element("article", "turn");
  block.setAttribute("aria-label", `Follow-up ${turn}`);
  block.append(element("p", "q", answer.question));
  if (answer.query.trim() !== answer.question.trim()) block.append(element("p", "query", `Searched for: ${answer.query}`));
  const filtered = describeFilter(answer.filter);
  if (filtered) block.append(element("p", "query", `Only ${filtered}`));
  if (!answer.answered) {
    // Worded as render.not_answered words it for the CLI and chat markdown.
    const missing = answer.not_covered || [];
    const named = missing.length > 1 ? `${missing.slice(0, -1).join(", ")} and ${missing.at(-1)} together` : missing[0];
    let text = named ? `${NOT_ANSWERED.slice(0, -1)}: they do not address ${named}.` : NOT_ANSWERED;
    if (answer.excluded_by_filter) {
      text = `The evidence your filter admits (${filtered}) does not answer this question; the article and its ` +
        "references answer it from evidence the filter excluded.";
    }
    block.append(element("p", "not-answered", text));
    return block;
  }
  // The answer first, in its own box captioned with its tier; then the evidence that also answers, under
  // tier headings in the answer's order; article text citing nothing last. A tier heading is shown for
  // evidence only: evidence of the answer's own tier still gets it.
  const [first, ...others] = answer.passages;
  const answered = first && first.role === "answer";
  if (answered) block.append(answerBox(first, turn, asked));
  let heading = null;
  let group = null;
  for (const passage of answered ? others : answer.passages) {
    const title = headingFor(passage);
    if (title !== heading) {
      heading = title;
      group = element("section", title === UNCITED ? "group uncited" : "group");
      group.append(element("h2", "tier", title));
      block.append(group);
    }
    appendPassage(group, passage, turn, asked);
  }
  if (answer.references.length) {
    const refs = element("div", "turn-references");
    refs.append(element("h2", "tier", "References"));
    const list = element("ol", "references");
    for (const ref of answer.references) list.append(referenceItem(ref, `ref-${turn}-${ref.article_id}-${ref.number}`));
    refs.append(list);
    block.append(refs);
  }
  return block;
}

// ---- the evidence filter (tiers, since) ------------------------------------------------------------

function chosenFilter() {
  const tiers = [...document.querySelectorAll("#tier-choices input:checked")].map((box) => box.value);
  const year = $("since").value.trim();
  return { tiers: tiers.length ? tiers : null, since: year ? Number(year) : null };
}

// As render.filter_description words it: "guidelines or systematic reviews, published 2015 or later".
function describeFilter(filter) {
  const parts = [];
  if (filter.tiers) {
    const names = Object.keys(TIER_NAMES).filter((t) => filter.tiers.includes(t)).map((t) => TIER_NAMES[t]);
    parts.push(names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names[0]);
  }
  if (filter.since !== null) parts.push(`published ${filter.since} or later`);
  return parts.join(", ");
}

function showFilter() {
  const filter = chosenFilter();
  const described = describeFilter(filter);
  $("filter-summary").textContent = described ? `only ${described}` : "every tier, any year";
}

function setUpFilter() {
  const choices = $("tier-choices");
  for (const [tier, name] of Object.entries(TIER_NAMES)) {
    const label = element("label", "tier-choice");
    const box = element("input");
    box.type = "checkbox";
    box.name = "tier";
    box.value = tier;
    box.addEventListener("change", showFilter);
    label.append(box, ` ${name}`);
    choices.append(label);
  }
  $("since").addEventListener("input", showFilter);
  $("clear-filters").addEventListener("click", () => {
    for (const box of choices.querySelectorAll("input")) box.checked = false;
    $("since").value = "";
    showFilter();
  });
}

// ---- export of the article's references (RIS, CSL-JSON) ---------------------------------------------

// Fetched with the page's headers (an API key, when the service wants one), then saved as a file.
async function exportReferences(event) {
  event.preventDefault();
  const format = event.currentTarget.dataset.format;
  const path = `/v1/articles/${encodeURIComponent(state.articleId)}/references?format=${format}`;
  try {
    const response = await fetch(path, { headers: headers() });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    const link = element("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = `${state.articleId}-references.${format === "ris" ? "ris" : "json"}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  } catch (error) {
    $("status").textContent = `Could not export the citations: ${error.message}`;
    $("status").className = "error";
  }
}

async function ask(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("ask").disabled = true;
  $("status").textContent = "Searching the sources…";
  $("status").className = "";
  try {
    const body = { question, history: state.history.slice(-20) };
    if (state.articleId) body.article_id = state.articleId;
    const filter = chosenFilter();
    if (filter.tiers) body.tiers = filter.tiers;
    if (filter.since !== null) body.since = filter.since;
    const response = await respond("/v1/ask", { method: "POST", body: JSON.stringify(body) });
    const answer = await response.json();
    $("conversation").append(renderAnswer(answer, { build: response.headers.get(BUILD_HEADER), history: body.history }));
    state.history.push(question);
    $("question").value = "";
    $("status").textContent = "";
  } catch (error) {
    $("status").textContent = `Could not answer: ${error.message}`;
    $("status").className = "error";
  } finally {
    $("ask").disabled = false;
    $("question").focus();
  }
}

function focusQuestion(event) {
  event.preventDefault();
  const field = $("question");
  field.scrollIntoView({ block: "center" });
  field.focus({ preventScroll: true });
}

async function start() {
  $("ask-form").addEventListener("submit", ask);
  $("skip-link").addEventListener("click", focusQuestion);
  $("reset").addEventListener("click", () => {
    state.history = [];
    $("conversation").replaceChildren();
    clearArticleMarks();
    state.backTo = null;
    $("back-to-answer").hidden = true;
    $("question").focus();
  });
  $("source-close").addEventListener("click", closePanel);
  setUpFilter();
  for (const id of ["export-ris", "export-csl"]) $(id).addEventListener("click", exportReferences);
  $("back-to-answer").addEventListener("click", backToAnswer);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.backTo && !$("source-panel").open) backToAnswer();
  });
  $("source-panel").addEventListener("click", (event) => {
    if (event.target === event.currentTarget) closePanel(); // a click on the backdrop
  });
  $("source-panel").addEventListener("close", () => {
    if (state.opener && state.opener.isConnected) state.opener.focus();
    state.opener = null;
  });
  try {
    const articles = await call("/v1/articles");
    state.articles = articles;
    const wanted = new URLSearchParams(location.search).get("article");
    const chosen = articles.find((a) => a.id === wanted) || articles[0];
    if (articles.length > 1) {
      const select = $("article-select");
      for (const a of articles) select.append(new Option(a.title, a.id, false, a.id === chosen.id));
      select.addEventListener("change", () => {
        const url = new URL(location.href);
        url.searchParams.set("article", select.value);
        history.replaceState(null, "", url);
        chooseArticle(articles.find((a) => a.id === select.value)).catch(notReady);
      });
      $("article-choice").hidden = false;
    }
    await chooseArticle(chosen);
    await showLinkedPlace(new URLSearchParams(location.search));
  } catch (error) {
    notReady(error);
  }
}

// A link to a passage in its source (a chat answer's citation): ?article=ID&source=SOURCE&start=S&end=E
// highlights text[start:end], in the article or in the source panel.
async function showLinkedPlace(params) {
  const sourceId = params.get("source");
  const [start, end] = [Number(params.get("start")), Number(params.get("end"))];
  if (!sourceId || !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start) return;
  const body = await source(sourceId);
  if (end > body.text.length) return;
  const place = { source_id: sourceId, start, end, source_label: body.label };
  if (!sourceId.includes("/") && state.article && sourceId === state.article.id) {
    const mark = markInArticle(start, end);
    if (mark) focusMark(mark);
    return;
  }
  await openPanel(place, null);
}

function notReady(error) {
  if (!state.article) $("article-title").textContent = "followup";
  $("status").textContent = `The service is not ready: ${error.message}`;
  $("status").className = "error";
}

start();
