// The follow-up box: asks /v1/ask with the conversation so far and shows the verbatim, cited passages.
// Source text is only ever set with textContent, never parsed as HTML.
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
const NOT_ANSWERED = "The article and its references do not answer this question.";

const state = { history: [], articleId: null, turn: 0 };
const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function headers() {
  const result = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem("followup-api-key");
  if (key) result.Authorization = `Bearer ${key}`;
  return result;
}

async function call(path, options = {}) {
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
  return response.json();
}

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

function citeLine(ref) {
  const parts = [ref.authors, ref.title || "(unidentified reference)", ref.journal, ref.year && String(ref.year)];
  const ids = [ref.ids.pmid && `PMID ${ref.ids.pmid}`, ref.ids.doi && `doi:${ref.ids.doi}`].filter(Boolean).join(" ");
  const line = parts.filter(Boolean).map((p) => p.replace(/\.+$/, "")).join(". ");
  return `${line}. ${ids ? ids + " " : ""}(${ref.tier.replace("_", " ")}${ref.retracted ? ", RETRACTED" : ""})`;
}

// The heading a passage is shown under, as render.heading_for words it for the CLI and chat markdown.
function headingFor(passage) {
  return passage.citations.length ? TIER_HEADINGS[passage.tier] : UNCITED;
}

function appendPassage(container, passage, turn) {
  const articleId = passage.source_id.split("/")[0];
  const quote = element("blockquote", "passage");
  quote.append(withCitationLinks(passage.display_text, turn, articleId));
  container.append(quote);
  const also = passage.also_in.length ? ` · also in ${passage.also_in.map((q) => q.source_id).join(", ")}` : "";
  container.append(element("p", "source", `${passage.source_id} · ${passage.section || "text"}${also}`));
}

// <section class="answer" aria-labelledby="answer-N"><header><h2>Answer</h2><p>tier</p></header>...</section>
function answerBox(passage, turn) {
  const box = element("section", "answer");
  const title = element("h2", "answer-title", "Answer");
  title.id = `answer-${turn}`;
  box.setAttribute("aria-labelledby", title.id);
  const head = element("header", "answer-head");
  head.append(title, element("p", "answer-tier", headingFor(passage)));
  box.append(head);
  appendPassage(box, passage, turn);
  return box;
}

function renderAnswer(answer) {
  const turn = ++state.turn;
  const block = element("article", "turn");
  block.append(element("p", "q", answer.question));
  if (answer.query.trim() !== answer.question.trim()) block.append(element("p", "query", `Searched for: ${answer.query}`));
  if (!answer.answered) {
    // Worded as render.not_answered words it for the CLI and chat markdown.
    const missing = answer.not_covered || [];
    const named = missing.length > 1 ? `${missing.slice(0, -1).join(", ")} and ${missing.at(-1)} together` : missing[0];
    const text = named ? `${NOT_ANSWERED.slice(0, -1)}: they do not address ${named}.` : NOT_ANSWERED;
    block.append(element("p", "not-answered", text));
    return block;
  }
  // The answer first, in its own box captioned with its tier; then the evidence that also answers, under
  // tier headings in the answer's order; article text citing nothing last. A tier heading is shown for
  // evidence only: evidence of the answer's own tier still gets it.
  const [first, ...others] = answer.passages;
  const answered = first && first.role === "answer";
  if (answered) block.append(answerBox(first, turn));
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
    appendPassage(group, passage, turn);
  }
  if (answer.references.length) {
    block.append(element("h2", "tier", "References"));
    const list = element("ol", "references");
    for (const ref of answer.references) {
      const item = element("li", null, `[${ref.number}] ${citeLine(ref)}`);
      item.id = `ref-${turn}-${ref.article_id}-${ref.number}`;
      list.append(item);
    }
    block.append(list);
  }
  return block;
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
    const answer = await call("/v1/ask", { method: "POST", body: JSON.stringify(body) });
    $("conversation").append(renderAnswer(answer));
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

function chooseArticle(article) {
  state.articleId = article.id;
  $("article-title").textContent = article.title;
  document.title = `${article.title} · followup`;
}

async function start() {
  $("ask-form").addEventListener("submit", ask);
  $("reset").addEventListener("click", () => {
    state.history = [];
    $("conversation").replaceChildren();
    $("question").focus();
  });
  try {
    const articles = await call("/v1/articles");
    const wanted = new URLSearchParams(location.search).get("article");
    chooseArticle(articles.find((a) => a.id === wanted) || articles[0]);
    if (articles.length > 1) {
      const select = $("article-select");
      for (const a of articles) select.append(new Option(a.title, a.id, false, a.id === state.articleId));
      select.addEventListener("change", () => chooseArticle(articles.find((a) => a.id === select.value)));
      $("article-choice").hidden = false;
    }
  } catch (error) {
    $("article-title").textContent = "followup";
    $("status").textContent = `The service is not ready: ${error.message}`;
    $("status").className = "error";
  }
}

start();
