"""The package's layers, read from its imports (ast, nothing is imported): a stage imports only the
stages below it, the answer path never reaches the build or import side, and nothing it reaches
imports torch."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "followup"

# Lowest first. Stages of one rank do not import each other (serve and evaluate).
RANKS = {
    "core": 0,
    "ingest": 1,
    "embed": 2,
    "index": 3,
    "retrieve": 4,
    "answer": 5,
    "present": 6,
    "answerer": 7,
    "serve": 8,
    "evaluate": 8,
    "cli": 9,
    "": 10,  # followup/__init__.py: the Python API
}
# What `followup ask` and the service run to answer a question.
ANSWER_PATH_ROOTS = ("followup.answerer", "followup.present.render", "followup.serve.app")
# Building an index and importing articles: the answer path must not load any of it.
BUILD_SIDE = (
    "followup.ingest",
    "followup.index.build",
    "followup.index.incremental",
    "followup.embed.chunk_embeddings",
    "followup.embed.bulk_encoder",
    "followup.embed.torch_encoder",
    "followup.embed.onnx_export",
    "followup.embed.ray_job",
)
HEAVY = ("torch", "sentence_transformers", "transformers", "onnx")


def module_files(package: Path) -> dict[str, Path]:
    files = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        files[name] = path
    return files


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except what is under `if TYPE_CHECKING:` (annotations only, never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in (child, *_runtime_nodes(child)))
            continue
        yield node
        yield from _runtime_nodes(node)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Modules imported anywhere in the file (functions too), resolved to known followup modules or
    kept as the top-level name of a third-party package."""
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n if n in modules else node.module for n in names]
        else:
            continue
        for name in names:
            found.add(name if name.startswith("followup") else name.split(".")[0])
    return found


def stage_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_violations(package: Path) -> list[str]:
    files = module_files(package)
    problems = []
    for module, path in files.items():
        stage = stage_of(module)
        for imported in sorted(imports_of(path, set(files))):
            if not imported.startswith("followup") or imported == "followup":
                continue
            other = stage_of(imported)
            if other != stage and RANKS[other] >= RANKS[stage]:
                problems.append(f"{module} imports {imported}: {other or 'followup'} is not below {stage}")
    return problems


def answer_path(package: Path, roots: tuple[str, ...] = ANSWER_PATH_ROOTS) -> dict[str, set[str]]:
    """Each module the roots reach (lazy imports inside functions too) with what it imports."""
    files = module_files(package)
    reached: dict[str, set[str]] = {}
    todo = [r for r in roots if r in files]
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached[module] = imports_of(files[module], set(files))
        # a module's packages run their __init__ first
        parents = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
        todo += [m for m in (*reached[module], *parents) if m in files and m not in reached]
    return reached


def answer_path_violations(package: Path) -> list[str]:
    problems = []
    for module, imported in sorted(answer_path(package).items()):
        if module.startswith(BUILD_SIDE):
            problems.append(f"the answer path reaches {module} (build or import side)")
        problems += [f"{module} imports {name} on the answer path" for name in sorted(imported) if name in HEAVY]
    return problems


def test_each_stage_imports_only_the_stages_below_it() -> None:
    assert layer_violations(PACKAGE) == []


def test_the_answer_path_reaches_neither_the_build_side_nor_torch() -> None:
    assert answer_path_violations(PACKAGE) == []


def test_every_stage_is_ranked() -> None:
    assert {stage_of(m) for m in module_files(PACKAGE)} <= set(RANKS)


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "followup" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path / "followup"


def test_the_checks_find_an_upward_import_a_build_import_and_torch(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "answerer.py": "from followup.answer.stages import gate\n",
            "core/__init__.py": "",
            "core/types.py": "from followup.retrieve.query import build_query\n",
            "answer/__init__.py": "",
            "answer/stages.py": "def gate():\n    from followup.index.build import build_index\n",
            "index/__init__.py": "",
            "index/build.py": "import torch\n",
            "retrieve/__init__.py": "",
            "retrieve/query.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from followup.answer.stages import gate\n"
            ),
        },
    )
    assert layer_violations(package) == [
        "followup.core.types imports followup.retrieve.query: retrieve is not below core",
    ]
    assert answer_path_violations(package) == [
        "the answer path reaches followup.index.build (build or import side)",
        "followup.index.build imports torch on the answer path",
    ]
