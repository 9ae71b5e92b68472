"""Do references imported with their structure change the dev figures? The seed corpus as it is
against the same corpus with reference 2 imported from DailyMed SPL XML and reference 7 from PubMed
XML by `followup add` (sections as Markdown, so breadcrumbs read "Indications and Usage" and
"Abstract"; records from the files). Every dev split, every configuration; only differences print:

    python evals/structured_references.py [--workdir /tmp/structured-references]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "formats"
SUITES = ["muscle-spasm-suite", "blind-holdout", "blind-holdout-2"]
PAGE = FIXTURES / "page-muscle-spasm.txt"
NOT_QUALITY = ("latency_ms", "seconds", "index", "path", "run")  # these differ by run, not by corpus


def followup(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "followup.cli", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"followup {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def flat(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from flat(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/structured-references"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    corpora = {"as is": ROOT / "corpus", "imported": args.workdir / "corpus"}
    shutil.copytree(ROOT / "corpus" / "muscle-spasm", corpora["imported"] / "muscle-spasm")
    print(followup("add", str(PAGE), "--id", "muscle-spasm", "--corpus", str(corpora["imported"]),
                   "--ref", "2", str(FIXTURES / "spl-valium-indications.xml"),
                   "--ref", "7", str(FIXTURES / "pubmed-chou-2004.xml")))  # fmt: skip
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for name, corpus in corpora.items():
        index = args.workdir / f"index-{name.replace(' ', '-')}"
        followup("index", "--corpus", str(corpus), "--index", str(index))
        for suite in SUITES:
            out = followup("eval", str(ROOT / "evals" / f"{suite}.jsonl"), "--corpus", str(corpus), "--index",
                           str(index), "--split", "dev", "--no-save", "--json")  # fmt: skip
            results.setdefault(suite, {})[name] = dict(flat(json.loads(out)))
    for suite, by_corpus in results.items():
        before, after = by_corpus["as is"], by_corpus["imported"]
        changed = [k for k in sorted(before) if before[k] != after.get(k) and not k.startswith("results.")
                   and not any(word in k for word in NOT_QUALITY)]  # fmt: skip
        print(f"{suite} (dev): {len(changed)} figures changed")
        for key in changed:
            print(f"  {key}: {before[key]:.4f} -> {after[key]:.4f}")


if __name__ == "__main__":
    main()
