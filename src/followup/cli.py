"""`followup` command line. Heavy modules are imported inside the commands, so --help is instant.

Exit codes: 0 done; 1 a problem with the input, corpus or index (the message says which); 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from followup import __version__
from followup.answer.stages import TIER_NAMES, check_text, evidence_filter
from followup.core.errors import FollowupError, InvalidRequest
from followup.core.settings import BACKENDS, DEFAULT_CHUNKING, MAX_TOP_K, MILVUS_ENGINES, MODES, Settings

if TYPE_CHECKING:
    from followup.answerer import Answerer
    from followup.core.types import AskRequest

INDEX_HELP = "index directory (default: %(default)s, or $FOLLOWUP_INDEX)"


def backend_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--backend", choices=BACKENDS, default=None, help=what)
    parser.add_argument("--milvus-uri", metavar="URI", help="a Milvus server, http://host:port, or a Milvus Lite "
                        "file, path/to/milvus.db, which pymilvus starts itself ($FOLLOWUP_MILVUS_URI)")  # fmt: skip
    parser.add_argument("--milvus-engine", choices=MILVUS_ENGINES, default=None,
                        help="server (default for http://) or lite (default for a file): milvus-lite 2.5.1, no "
                        "partition key, aliases kept by followup, exact search ($FOLLOWUP_MILVUS_ENGINE)")  # fmt: skip


def _parser(settings: Settings) -> argparse.ArgumentParser:
    """The command line; `settings` gives the defaults the environment may change."""
    parser = argparse.ArgumentParser(
        prog="followup",
        description="Answer follow-up questions about a medical article with verbatim, cited passages "
        "from the article and its references.",
    )
    parser.add_argument("--version", action="version", version=f"followup {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def locations(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--corpus",
            type=Path,
            default=settings.corpus_dir,
            help="corpus directory, one folder per article (default: %(default)s, or $FOLLOWUP_CORPUS)",
        )
        p.add_argument(
            "--index",
            type=Path,
            default=settings.index_dir,
            help=INDEX_HELP,
        )

    index = commands.add_parser("index", help="build the BM25 and dense indexes of the corpus")
    locations(index)
    index.add_argument("--force", action="store_true", help="rebuild even if the corpus has not changed")
    index.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="embed on Ray Data: a local Ray instance on 127.0.0.1, or the cluster at ADDRESS (host:port); "
        "needs followup[ray]",
    )
    backend_options(
        index,
        "where the build's searches run (default: $FOLLOWUP_BACKEND, else the index's current backend, "
        "else embedded); ask, serve and eval read it from the build",
    )

    ask = commands.add_parser("ask", help="answer a question with verbatim, cited passages")
    locations(ask)
    ask.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
    ask.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="QUESTION",
        help="an earlier question of the conversation, oldest first; repeatable",
    )
    ask.add_argument("--article", metavar="ID", help="answer from this article only (default: all articles)")
    ask.add_argument("--mode", choices=MODES, default="hybrid", help="retrieval mode (default: %(default)s)")
    ask.add_argument("--top-k", type=int, default=5, help="passages at most (default: %(default)s)")
    ask.add_argument("--tier", dest="tiers", action="append", choices=TIER_NAMES, metavar="TIER",
                     help="answer only from evidence of this tier (repeatable; default: every tier): "
                     + ", ".join(TIER_NAMES))  # fmt: skip
    ask.add_argument("--since", type=int, metavar="YEAR",
                     help="answer only from evidence published in YEAR or later (default: any year)")  # fmt: skip
    output = ask.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    output.add_argument(
        "--jsonl", action="store_true", help="read requests from stdin, one JSON object a line; write one answer a line"
    )
    ask.add_argument(
        "--no-stale-check",
        action="store_true",
        help="do not compare the index with the corpus directory (for an index deployed alone)",
    )

    evaluate = commands.add_parser(
        "eval",
        help="measure retrieval and answers on a suite or a BEIR benchmark, every mode side by side",
        description="TARGET is a suite file (JSONL, default the muscle-spasm suite) answered against --index, "
        "or a BEIR directory (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv) indexed in memory.",
    )
    locations(evaluate)
    evaluate.add_argument("target", nargs="?", type=Path, default=settings.eval_suite, help="default: %(default)s")
    evaluate.add_argument("--split", default="test", help="dev, test (default) or, for suites, all")
    evaluate.add_argument("--json", action="store_true", help="print the results as one JSON object on stdout")
    evaluate.add_argument("--runs-dir", type=Path, default=settings.runs_dir, help="where run folders go")
    evaluate.add_argument("--no-save", action="store_true", help="do not write a run folder")
    evaluate.add_argument(
        "--cache",
        type=Path,
        default=settings.embedding_cache,
        help="embedding cache for benchmark corpora (default: %(default)s)",
    )
    evaluate.add_argument(
        "--max-words",
        type=int,
        default=DEFAULT_CHUNKING.max_words,
        help="chunk size for benchmark documents (default: %(default)s)",
    )
    evaluate.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("RUN_A", "RUN_B"),
        help="compare two run folders query by query instead of evaluating",
    )
    backend_options(
        evaluate,
        "for a BEIR benchmark: search its chunks in memory (embedded, the default) or "
        "written to a Milvus collection; a suite runs on its build's backend",
    )
    evaluate.add_argument("--measure", help="measure for --compare (default: nDCG@10, or hit@3 for suites)")

    serve = commands.add_parser("serve", help="serve the HTTP API and the follow-up page (builds the index if needed)")
    locations(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow a browser frontend at this origin; repeatable (also $FOLLOWUP_CORS_ORIGINS, comma-separated)",
    )
    serve.add_argument("--no-build", action="store_true", help="serve the index as it is, without building it")
    serve.add_argument(
        "--reload-interval",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="check index/CURRENT this often and serve a new build without a restart; 0: never (default: %(default)s)",
    )

    add = commands.add_parser(
        "add",
        help="create or update an article folder from a saved page and its references' files",
        description="Create or update an article folder under the corpus from the article's saved page "
        "(its text capture, HTML, or Markdown with bare citation numbers) and its references' files "
        "(PubMed XML, DailyMed SPL XML or plain text, told apart by their content). The folder is written "
        "aside and renamed into place only once it loads as `followup index` loads it.",
    )
    add.add_argument("article_file", type=Path, metavar="ARTICLE_FILE", help="the saved article page")
    add.add_argument(
        "--id", dest="article_id", metavar="ID", help="the article's id and folder name (default: from its title)"
    )
    add.add_argument("--ref", nargs=2, action="append", default=[], metavar=("N", "FILE"),
                     help="attach FILE as reference N (repeatable)")  # fmt: skip
    add.add_argument("--retracted", type=int, action="append", default=[], metavar="N",
                     help="mark reference N retracted: never ranked as evidence (repeatable; a PubMed "
                          "file's own retraction is read from it)")  # fmt: skip
    add.add_argument("--corpus", type=Path, default=settings.corpus_dir,
                     help="corpus directory (default: %(default)s, or $FOLLOWUP_CORPUS)")  # fmt: skip
    add.add_argument("--json", action="store_true", help="print the result as JSON")

    verify = commands.add_parser(
        "verify", help="check every byte of the index against its manifest (loading checks sizes and times only)"
    )
    verify.add_argument("--index", type=Path, default=settings.index_dir, help=INDEX_HELP)

    articles = commands.add_parser("articles", help="list the indexed articles and their references")
    articles.add_argument("--index", type=Path, default=settings.index_dir, help=INDEX_HELP)

    feedback = commands.add_parser("feedback", help="clinicians' feedback on passages (POST /v1/feedback)")
    actions = feedback.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        help="write the feedback as a graded suite for `followup eval`",
        description="Write the reports as a graded suite (JSONL): one item per question asked, each passage "
        "graded by its verdicts (answers 2, relevant 1; not_relevant and wrong listed under flagged). Several "
        "verdicts on one passage: the most cautious wins. A summary goes to stderr.",
    )
    export.add_argument(
        "--db",
        type=Path,
        default=settings.feedback_db,
        metavar="PATH",
        help="the feedback file (default: $FOLLOWUP_FEEDBACK_DB, else INDEX/feedback.sqlite3)",
    )
    export.add_argument("--index", type=Path, default=settings.index_dir, help=INDEX_HELP)
    export.add_argument("--output", default="-", metavar="FILE", help="the suite file, written whole or not at "
                        "all; - for stdout (default: %(default)s)")  # fmt: skip
    export.add_argument("--split", choices=("dev", "test"), default="test",
                        help="the split of every item (default: %(default)s, what `followup eval` runs)")  # fmt: skip
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds: {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings.from_environment()
    args = _parser(settings).parse_args(argv)
    if args.command in ("index", "eval", "serve"):  # they build or embed: their status lines on stderr
        from followup.core.status_lines import show_status_lines

        show_status_lines()
    try:
        if args.command == "index":
            return _index(args, settings)
        if args.command == "ask":
            return _ask(args)
        if args.command == "eval":
            return _eval(args, settings)
        if args.command == "serve":
            return _serve(args, settings)
        if args.command == "verify":
            return _verify(args)
        if args.command == "add":
            return _add(args)
        if args.command == "feedback":
            return _feedback_export(args)
        return _articles(args)
    except FollowupError as e:
        print(f"followup: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("followup: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`followup ask ... | head`): stop quietly, and keep Python's exit-time
        # flush from raising again on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from followup.index.backend_choice import BackendChoice
    from followup.index.build import build_index

    backend = BackendChoice.from_options(args.backend, args.milvus_uri, args.milvus_engine, args.index, settings)
    result = build_index(args.corpus, args.index, force=args.force, ray=args.ray, backend=backend)
    state = "built" if result.rebuilt else "up to date (corpus unchanged; --force rebuilds)"
    print(
        f"index {state}: {result.location.path}\n  {result.articles} article(s), {result.documents} documents, "
        f"{result.chunks} chunks, {result.sentences} sentences, {result.seconds:.1f} s"
        + (f", {result.embedded} chunks embedded" if result.rebuilt else "")
    )
    return 0


def _add(args: argparse.Namespace) -> int:
    from followup.ingest.add import ReferenceFile, add_article, added_summary, format_added

    references = []
    for number, file in args.ref:
        if not number.isdigit():
            raise InvalidRequest(f"--ref {number} {file}: N must be a reference number, as in --ref 7 chou-2004.xml")
        references.append(ReferenceFile(int(number), Path(file)))
    added = add_article(args.article_file, args.corpus, args.article_id, references, args.retracted)
    print(json.dumps(added_summary(added), ensure_ascii=False, indent=2) if args.json else format_added(added))
    for warning in added.warnings:  # on stderr, so that they show when stdout is piped (as --json's is)
        print(f"followup: warning: {warning}", file=sys.stderr)
    return 0


def _ask(args: argparse.Namespace) -> int:
    if args.jsonl == (args.question is not None):
        raise InvalidRequest("give a QUESTION, or --jsonl with requests on stdin (not both)")
    if not args.jsonl:  # fail before the index and model load
        check_text(args.question, "question")
        if not 1 <= args.top_k <= MAX_TOP_K:
            raise InvalidRequest(f"--top-k must be between 1 and {MAX_TOP_K}, not {args.top_k}")
        for i, turn in enumerate(args.history):
            check_text(turn, f"--history #{i + 1}")
    evidence = evidence_filter(args.tiers, args.since)
    from followup.answerer import Answerer
    from followup.core.types import AskRequest

    corpus = None if args.no_stale_check else args.corpus
    if corpus is not None and not corpus.exists():
        print(f"followup: warning: {corpus} not found; cannot check whether the index is stale", file=sys.stderr)
        corpus = None
    # One question at a time: the query encoder may use every core. The token and sentence vectors are
    # checked as the question reads them: a library's 2.4 GB are not read for a few MB.
    answerer = Answerer.load(args.index, corpus, threads=os.cpu_count() or 1, check_as_read=True)
    if args.jsonl:
        return _ask_jsonl(answerer, args)
    request = AskRequest(args.question, tuple(args.history), args.article, args.top_k, args.mode, evidence)
    answer = answerer.answer(request)
    from followup.present.render import answer_to_contract, format_answer

    print(json.dumps(answer_to_contract(answer), ensure_ascii=False, indent=2) if args.json else format_answer(answer))
    return 0


def request_from_json(line: str, defaults: argparse.Namespace) -> tuple[AskRequest, Any]:
    """One JSONL request: {"question": ..., "history": [...], "article_id": ..., "top_k": ..., "mode": ...,
    "tiers": [...], "since": ..., "id": ...}; the optional id is echoed in the answer line."""
    from followup.core.types import AskRequest

    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as e:
        raise InvalidRequest(f"invalid JSON at column {e.colno}: {e.msg}") from None
    if not isinstance(data, dict):
        raise InvalidRequest("a request must be a JSON object")
    unknown = set(data) - {"question", "history", "article_id", "top_k", "mode", "tiers", "since", "id"}
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    question = data.get("question")
    if not isinstance(question, str):
        raise InvalidRequest("question must be a string")
    history = data.get("history", [])
    if not isinstance(history, list):
        raise InvalidRequest("history must be a list of earlier questions")
    top_k = data.get("top_k", defaults.top_k)
    if not isinstance(top_k, int) or isinstance(top_k, bool):
        raise InvalidRequest("top_k must be an integer")
    tiers = data.get("tiers", defaults.tiers)
    if tiers is not None and not (isinstance(tiers, list) and all(isinstance(t, str) for t in tiers)):
        raise InvalidRequest("tiers must be a list of tier names")
    request = AskRequest(
        question,
        tuple(history),
        data.get("article_id", defaults.article),
        top_k,
        data.get("mode", defaults.mode),
        evidence_filter(tiers, data.get("since", defaults.since)),
    )
    return request, data.get("id")


def _ask_jsonl(answerer: Answerer, args: argparse.Namespace) -> int:
    from followup.present.render import answer_to_contract

    failures = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        request_id = None
        try:
            request, request_id = request_from_json(line, args)
            result: dict[str, Any] = answer_to_contract(answerer.answer(request))
        except FollowupError as e:
            failures += 1
            result = {"error": str(e), "line": number}
        if request_id is not None:
            result = {"id": request_id, **result}
        print(json.dumps(result, ensure_ascii=False), flush=True)
    if failures:
        print(f'followup: {failures} request(s) failed; see the "error" lines', file=sys.stderr)
    return 1 if failures else 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from followup.evaluate.report import compare_runs

    if args.compare:
        first, second = args.compare
        print(compare_runs(first, second, measure=args.measure))
        return 0
    from followup.core.settings import ChunkingParams
    from followup.evaluate.report import summary_tables, write_run
    from followup.evaluate.run import run_eval
    from followup.index.backend_choice import BackendChoice

    backend = BackendChoice.from_options(args.backend, args.milvus_uri, args.milvus_engine, settings=settings)
    outcome = run_eval(args.target, args.split, args.index, args.corpus,
                       ChunkingParams(max_words=args.max_words), args.cache, backend)  # fmt: skip
    print(summary_tables(outcome.summary), file=sys.stderr)
    if not args.no_save:
        folder = write_run(args.runs_dir, outcome.summary, outcome.rows, outcome.curves)
        print(f"\nrun saved in {folder}", file=sys.stderr)
    if args.json:
        print(json.dumps(outcome.summary, indent=2))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from followup.index.layout import current_build, read_manifest
    from followup.index.reader import load_index

    location = current_build(args.index)
    manifest = read_manifest(location, full=True)
    load_index(args.index)  # and the files agree with one another
    size = sum(record["bytes"] for record in manifest.files.values())
    checked = f"{len(manifest.files)} files, {size / 1e6:.1f} MB checked by sha256 and XXH3-64 blocks"
    print(f"index ok: {location.path}\n  {checked}")
    return 0


def _feedback_export(args: argparse.Namespace) -> int:
    from collections import Counter

    from followup.core.feedback import default_feedback_db, read_reports
    from followup.core.storage import atomic_path
    from followup.evaluate.feedback_suite import feedback_suite, suite_lines

    db = args.db or default_feedback_db(args.index)
    suite = feedback_suite(read_reports(db), args.split)
    lines = suite_lines(suite)
    if args.output == "-":
        sys.stdout.write(lines)
        where = "stdout"
    else:
        output = Path(args.output)
        try:
            with atomic_path(output) as partial:
                partial.write_text(lines, encoding="utf-8")
        except OSError as e:
            raise FollowupError(f"{output}: cannot write the suite ({e.strerror or e})") from None
        where = f"{output} (run it: followup eval {output} --split {args.split})"
    verdicts = Counter(e["verdict"] for row in suite.rows for e in (*row["grades"], *row["flagged"]))
    counts = ", ".join(f"{verdicts[v]} {v}" for v in ("answers", "relevant", "not_relevant", "wrong"))
    print(f"followup: {suite.reports} report(s) in {db} -> {len(suite.rows)} item(s), {suite.passages} passage(s) "
          f"({counts}); {suite.conflicts} passage(s) with conflicting verdicts, the most cautious kept; "
          f"written to {where}", file=sys.stderr)  # fmt: skip
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    import uvicorn

    from followup.serve.app import ServiceSettings, create_app, live_index
    from followup.serve.http_protocol import header_deadline_protocol

    if not args.no_build:
        from followup.index.backend_choice import BackendChoice
        from followup.index.build import build_index

        # The backend the index is on (or $FOLLOWUP_BACKEND ...): serving never moves it elsewhere.
        backend = BackendChoice.from_options(None, None, None, args.index, settings)
        result = build_index(args.corpus, args.index, backend=backend)
        print(f"index {'built' if result.rebuilt else 'up to date'}: {result.chunks} chunks", file=sys.stderr)
    service = ServiceSettings(
        index_dir=args.index,
        corpus_dir=args.corpus if args.corpus.exists() else None,
        cors_origins=tuple(o.strip() for o in [*args.cors_origin, *settings.cors_origins]),
        api_key=settings.api_key,
        reload_interval=args.reload_interval,
        feedback_db=settings.feedback_db,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    live = live_index(service)
    # Loaded here, before the server starts: a missing, stale or corrupt index is a one-line error.
    # Later builds that fail to load are logged and the one serving keeps serving.
    live.load()
    app = create_app(service, live=live)
    print(f"followup: open http://{args.host}:{args.port}/ (API docs at /docs)", file=sys.stderr, flush=True)
    # uvicorn's own access log is off: ours logs method, path, status and time, never the body. A
    # request's headers have `read_timeout` seconds to arrive, as its body has; an idle kept-alive
    # connection is closed after 5.
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="info",
                http=header_deadline_protocol(service.read_timeout), timeout_keep_alive=5)  # fmt: skip
    return 0


def _articles(args: argparse.Namespace) -> int:
    from followup.index.reader import load_index

    index = load_index(args.index)
    for article in index.articles.values():
        print(f"{article.id}: {article.title} (last updated {article.last_updated})")
        for ref in article.references:
            print(f"  [{ref.number}] {ref.tier.value:<18} {ref.title or '(unidentified)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
