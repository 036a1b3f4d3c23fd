"""The course's language, rules 5 and 6 (rules 1-4 and the glossary: ``tests/test_language.py``).

5. **"The same time" agrees with the stored timings.** Prose that says two
   runs take the same time ("el mismo tiempo", "tiempo parecido", "tardan
   parecido", "equivalente") next to an output with two or more timings must
   say which lines it compares, with ``<!-- tiempos parecidos: label | label -->``
   (each label: text that starts a line of the neighbouring output, whose
   first "N,NN s" is its time); those times must be within ``SAME_TIME``
   (max/min) of each other. A re-run under load that breaks it: re-run.

6. **Code shown as the lesson is in Spanish.** A function a notebook prints
   with ``inspect.getsource`` from ``support/`` is part of the lesson: its
   docstring and comments are Spanish (``SHOWN_PENDING`` lists the ones whose
   owners are still rewriting them). The rest of ``support/`` stays English.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_language import NOTEBOOKS, _checked, _load, banned_words, output_text, prose

# ---------------------------------------------------------------- 5. "the same time" against the stored timings

SAME_TIME = 1.25   # max/min of the times prose calls the same
SAME_TIME_CLAIM = re.compile(r"\b(?:(?:prácticamente |casi )?el mismo tiempo|(?:un )?tiempo parecido|tardan? parecido|"
                             r"tiempo equivalente|en un tiempo equivalente)\b", re.IGNORECASE)
SAME_TIME_MARKER = re.compile(r"<!--\s*tiempos parecidos:\s*(.*?)\s*-->", re.DOTALL)
SECONDS = re.compile(r"(?<![\d.,])(\d+,\d+) s\b")


def same_time_problems(cells: list[dict]) -> list[str]:
    """Markdown cells that call timings the same next to an output that says otherwise."""
    problems = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        claims = SAME_TIME_CLAIM.findall(prose(source))
        marks = SAME_TIME_MARKER.findall(source)
        if not claims and not marks:
            continue
        before = next((c for c in reversed(cells[:i]) if c["cell_type"] == "code"), None)
        after = next((c for c in cells[i + 1:] if c["cell_type"] == "code"), None)
        lines = [line for c in (before, after) if c is not None for line in output_text(c).splitlines()]
        timed = [line for line in lines if SECONDS.search(line)]
        if claims and not marks and len(timed) >= 2:
            problems.append(f"markdown cell {i} says {claims[0]!r} next to {len(timed)} timings: "
                            "mark the lines it compares with <!-- tiempos parecidos: label | label -->")
        for mark in marks:
            times = {}
            for label in (part.strip() for part in mark.split("|")):
                line = next((line for line in timed if line.lstrip().startswith(label)), None)
                if line is None:
                    problems.append(f"markdown cell {i}: no timed output line starts with {label!r}")
                    continue
                times[label] = float(SECONDS.search(line).group(1).replace(",", "."))
            if len(times) >= 2 and max(times.values()) > SAME_TIME * min(times.values()):
                problems.append(f"markdown cell {i} calls these times the same, but they are not: {times}")
    return problems


@pytest.mark.parametrize("path", _checked(NOTEBOOKS))
def test_same_time_claims_match_the_stored_timings(path):
    problems = same_time_problems(_load(path)["cells"])
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


# ---------------------------------------------------------------- 6. code shown as the lesson is Spanish

#: "Qualified.name" printed by a notebook -> why its English text is allowed for now
SHOWN_PENDING: dict[str, str] = {}
ENGLISH_WORDS = re.compile(r"\b(?:the|and|of|is|are|when|which|every|this|that|returns?|until|once|its|it|"
                           r"with|from|not|called|after|before|only)\b", re.IGNORECASE)


def shown_objects(path: Path) -> list[tuple[str, object]]:
    """(name, object) for every ``inspect.getsource(name)`` of a notebook whose object lives in ``support``."""
    import importlib

    cells = ["".join(c["source"]) for c in _load(path)["cells"] if c["cell_type"] == "code"]
    names: dict[str, object] = {}
    for code in cells:
        for m in re.finditer(r"^from (support[\w.]*) import ([^#\n;]+)", code, re.MULTILINE):
            module = importlib.import_module(m.group(1))
            for item in m.group(2).strip("() ").split(","):
                name, _, alias = (part.strip() for part in item.partition(" as "))
                if name:
                    names[alias or name] = (getattr(module, name) if hasattr(module, name)
                                            else importlib.import_module(f"{m.group(1)}.{name}"))
        for m in re.finditer(r"^import (support[\w.]*)(?: as (\w+))?$", code, re.MULTILINE):
            names[m.group(2) or m.group(1).split(".")[0]] = importlib.import_module(m.group(1))
    shown = []
    for code in cells:
        for expr in re.findall(r"inspect\.getsource\(([\w.]+)\)", code):
            head, *rest = expr.split(".")
            if head not in names:
                continue                                  # not from support (asyncio's own code)
            obj = names[head]
            for part in rest:
                obj = getattr(obj, part)
            shown.append((expr, obj))
    return shown


def shown_text(obj) -> str:
    """The docstring and comments of ``obj``'s source, without the code they quote."""
    import inspect
    import io
    import tokenize

    texts = [inspect.getdoc(obj) or ""]
    for tok in tokenize.generate_tokens(io.StringIO(inspect.getsource(obj).lstrip()).readline):
        if tok.type == tokenize.COMMENT:
            texts.append(tok.string)
    return re.sub(r"``[^`]*``|`[^`]*`", " ", "\n".join(texts))          # code in a docstring is code


def english_in_source(obj) -> list[str]:
    """Docstring and comment lines of ``obj``'s source with English words in them."""
    return [line.strip() for line in shown_text(obj).splitlines() if len(ENGLISH_WORDS.findall(line)) >= 2]


@pytest.mark.parametrize("path", _checked(NOTEBOOKS))
def test_code_shown_from_support_is_spanish(path):
    problems = [f"{name}: {line!r}" for name, obj in shown_objects(path) if name not in SHOWN_PENDING
                for line in english_in_source(obj) + banned_words(shown_text(obj))]
    assert not problems, f"{path.name} prints support code with English comments or docstrings:\n" + "\n".join(problems)


def test_these_rules_catch_what_they_should():
    def md(text):
        return {"cell_type": "markdown", "source": text}

    def code(out):
        return {"cell_type": "code", "source": "", "outputs": [{"output_type": "stream", "name": "stdout", "text": out}]}

    drifted = [md("Las dos, en el mismo tiempo:"), code("callbacks: 20 páginas en 0,81 s\ngeneradores: 20 páginas en 0,63 s\n")]
    assert same_time_problems(drifted)                                               # a claim, unmarked
    marked = md("En el mismo tiempo <!-- tiempos parecidos: callbacks | generadores -->:")
    assert same_time_problems([marked, drifted[1]])                                  # marked, but 0,81 vs 0,63
    assert not same_time_problems([marked, code("callbacks: 0,64 s\ngeneradores: 0,63 s\n")])

    def documented():
        """Devuelve el futuro: lo cede a la tarea."""  # la tarea lo reanuda

    def undocumented():
        """Yield the future itself to the Task, which sends back its result."""  # the coroutine returned
    assert not english_in_source(documented) and english_in_source(undocumented)
