"""No dangling notebook references: every ``NN_name`` notebook and every
"notebook NN" mentioned in the notebooks (prose and code), README.md and the
code (support/, tests/, tools/) exists. Renumbering must leave none behind."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
STEMS = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
NUMBERS = {stem[:2] for stem in STEMS}

FILE_NAME = re.compile(r"(?<![\w{])(\d\d)_([a-z][a-z0-9_]*[a-z0-9])")
NUMBER = re.compile(r"\bnotebooks? (\d\d)\b((?:(?:, | y | and | o | or |-)\d\d\b)*)", re.IGNORECASE)


def _texts():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for i, cell in enumerate(nb.cells):
            yield f"{path.name} cell {i}", cell.source
    yield "README.md", (ROOT / "README.md").read_text(encoding="utf-8")
    for folder in ("support", "tests", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == Path(__file__).resolve():  # its own examples of dangling names
                continue
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


def dangling(text: str) -> list[str]:
    found = []
    for m in FILE_NAME.finditer(text):
        stem = f"{m.group(1)}_{m.group(2)}"
        if not any(s == stem or s.startswith(stem + "_") or stem.startswith(s) for s in STEMS):
            found.append(stem)
    for m in NUMBER.finditer(text):
        for number in [m.group(1), *re.findall(r"\d\d", m.group(2))]:
            if number not in NUMBERS:
                found.append(f"notebook {number}")
    return found


def test_the_checker_finds_what_it_must():
    assert dangling("ver 07_crawler_asincrono.ipynb y el notebook 05") == []
    assert dangling("ver 06_crawler_asincrono.ipynb") == ["06_crawler_asincrono"]
    assert dangling("como en los notebooks 01 y 42") == ["notebook 42"]


@pytest.mark.parametrize("where,text", list(_texts()), ids=lambda x: x if isinstance(x, str) and len(x) < 80 else "")
def test_no_dangling_notebook_reference(where, text):
    assert dangling(text) == [], f"{where} mentions notebooks that do not exist"
