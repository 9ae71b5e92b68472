"""The README's library-scale figures are those of docs/scale-results.json, which `make bench`
(bench/scale.py) writes from the code as it is: the two cannot drift apart again. Every performance
figure names the CPU and its vector instructions it was measured with."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_states_the_library_figures_of_the_scale_results() -> None:
    report = json.loads((ROOT / "docs" / "scale-results.json").read_text(encoding="utf-8"))
    library = report["library"]
    assert library["build"]["from_scratch"], "the first build's figure comes from `bench/scale.py --cold`"
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    row = next(line for line in readme if line.startswith("| MedQuAD library"))
    figures = [
        f"{library['build']['chunks']:,} chunks",
        f"{library['build']['build_seconds'] / 60:.1f} min",
        f"{library['incremental']['rebuild_seconds']:.1f} s",
        f"{library['cold_start_seconds']:.2f} s",
        f"{library['warm']['index_bytes_per_chunk_beyond_model'] / 1000:.1f} kB per chunk",
        report["cpu"]["cpu"],
        f"({', '.join(report['cpu']['flags'])}",
        report["commit"],
    ]
    missing = [figure for figure in figures if figure not in row]
    assert not missing, f"README's MedQuAD row lacks {missing} of docs/scale-results.json: {row}"


def test_every_performance_figure_names_its_cpu_and_vector_instructions() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Performance\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| what")]
    assert len(rows) >= 5
    # "AMD EPYC, 2 cores (avx2, avx512f, avx512_bf16; no AMX)", as bench/machine.py names a machine, or
    # an old figure's plain "CPU not recorded".
    unnamed = [r for r in rows if not re.search(r"\d cores \((avx2|no AVX2)[^)]*\)|CPU not recorded", r)]
    assert not unnamed, f"performance figures without their CPU: {unnamed}"
