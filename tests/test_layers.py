"""The house's shape: packages import one way only, and no source file outgrows a screenful of screens."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bottom to top; a package may import only from its own rank or below
RANK = {"base": 0, "core": 1, "mcp_server": 2, "realtime": 2, "app": 3, "gui": 4}
MAX_LINES = 400


def imported_packages(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.split(".")[0])
    return out & set(RANK)


def test_imports_go_one_way() -> None:
    wrong = []
    for pkg, rank in RANK.items():
        for f in (ROOT / pkg).rglob("*.py"):
            for dep in imported_packages(f):
                if dep != pkg and (RANK[dep] > rank or (RANK[dep] == rank)):
                    wrong.append(f"{f.relative_to(ROOT)} imports {dep}")
    assert not wrong, "imports against the layering: " + "; ".join(wrong)


def test_no_source_file_over_the_limit() -> None:
    files = [f for pkg in RANK for f in (ROOT / pkg).rglob("*.py")]
    files += [*(ROOT / "gui" / "static").glob("*.js"), ROOT / "launch.py"]
    big = {str(f.relative_to(ROOT)): n for f in files if (n := len(f.read_text().splitlines())) > MAX_LINES}
    assert not big, f"files over {MAX_LINES} lines: {big}"


def test_no_module_binds_a_top_level_name_twice() -> None:
    """A second `DANGLING = {...}` further down a word-list module silently replaced the first one once."""
    twice = []
    for pkg in RANK:
        for f in (ROOT / pkg).rglob("*.py"):
            seen: set[str] = set()
            for node in ast.parse(f.read_text()).body:
                targets = node.targets if isinstance(node, ast.Assign) else (
                    [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else [])
                for t in targets:
                    if isinstance(t, ast.Name):
                        if t.id in seen:
                            twice.append(f"{f.relative_to(ROOT)}: {t.id}")
                        seen.add(t.id)
    assert not twice, f"names bound twice at module level: {twice}"
