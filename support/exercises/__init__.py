"""Exercise checkers: a clear verdict and a hint, never a crash.

Each notebook from 01 on ends with exercises. The exercise cell holds a stub
that raises ``NotImplementedError``; the next cell calls :func:`check`::

    def parse_status(line):
        raise NotImplementedError  # tu código aquí

    check("01.parse_status", parse_status)

``check`` prints one of three verdicts and returns it:

* ``pendiente`` -- the stub is still there (it raised ``NotImplementedError``);
  the notebook keeps running top to bottom;
* ``incorrecto`` -- with what went wrong and a hint;
* ``correcto``.

Checkers live in ``support/checks/nbXX.py`` and register themselves with
:func:`exercise`. They run the student's code only through the guards of
:mod:`support.exercises.guards` and :mod:`support.exercises.loop` (re-exported here):
:func:`call_with_limit` (a time limit, and optionally a line budget), :func:`run_async`
(a time limit on a fresh event loop, watched over the whole run)
and the "wrong kind of function" checks (:func:`require_async`,
:func:`require_sync`, :func:`not_a_coroutine`). Reference solutions, and
typical wrong answers that every checker must reject, live in
``teacher/solutions/nbXX.py`` (teachers: look there; not in the student build);
``tests/test_exercises.py`` proves both for every exercise.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil
import re
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from support.exercises.evidence import describe_error, short, thread_errors
from support.exercises.guards import (  # noqa: F401
    LIMIT,
    LINE_BUDGET,
    Incorrect,
    call_with_limit,
    draw,
    expect,
    limit,
    not_a_coroutine,
    require_sync,
)
from support.exercises.loop import excuse_block, require_async, run_async

__all__ = ["check", "run_check", "exercise", "Incorrect", "expect", "Verdict", "registry",
           "call_with_limit", "run_async", "require_async", "require_sync", "not_a_coroutine",
           "short", "limit", "excuse_block", "draw"]

PENDING, WRONG, RIGHT = "pendiente", "incorrecto", "correcto"
# Marks every default font draws (DejaVu, Segoe UI, the Mac fonts), not emoji: a
# machine without an emoji font shows emoji as empty boxes.
_ICONS = {PENDING: "…", WRONG: "✗", RIGHT: "✓"}


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    checker: Callable[[Any], str | None]
    hint: str


@dataclass(frozen=True)
class Verdict:
    exercise: str
    status: str  # PENDING, WRONG or RIGHT
    message: str
    hint: str = ""
    printed: bool = field(default=False, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == RIGHT

    def __str__(self) -> str:
        text = f"{_ICONS[self.status]} [{self.exercise}] {self.status}: {self.message}"
        return text + (f"\n   Pista: {self.hint}" if self.hint else "")

    def _ipython_display_(self) -> None:
        # A notebook cell ending in check(...) must not show the verdict twice.
        if not self.printed:
            print(self)


_REGISTRY: dict[str, Exercise] = {}


def exercise(name: str, title: str, hint: str = ""):
    """Decorator that registers a checker under ``name`` (e.g. ``"01.parse_status"``).

    The checker receives the student's answer, raises :class:`Incorrect` (or
    fails an :func:`expect`) when it is wrong, and may return a short text that
    is shown on success. ``hint`` is the general hint shown with a failure that
    carries none of its own.
    """

    def register(checker):
        if name in _REGISTRY:
            raise ValueError(f"exercise {name!r} registered twice")
        _REGISTRY[name] = Exercise(name, title, checker, hint)
        return checker

    return register


def registry() -> dict[str, Exercise]:
    """Every exercise of every notebook (imports all ``support.checks`` modules)."""
    from support import checks

    for mod in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"support.checks.{mod.name}")
    return dict(_REGISTRY)


def run_check(name: str, answer: Any) -> Verdict:
    """Check ``answer`` against exercise ``name`` and return the verdict (prints nothing)."""
    ex = _REGISTRY.get(name) or _load(name)
    if ex is None:
        raise KeyError(f"no exercise called {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    if answer is None or answer is Ellipsis:
        return Verdict(name, PENDING, "todavía no hay respuesta; completa la celda de arriba.")
    with thread_errors() as crashed, _restored(ex.checker.__module__):
        verdict = _judge(ex, answer)
    if crashed and verdict.status != PENDING:  # a thread of the answer died: that explains the rest
        thread, error = crashed[0]
        more = f" (y {len(crashed) - 1} hilo(s) más)" if len(crashed) > 1 else ""
        seen = f" Después: {verdict.message}" if verdict.status == WRONG else ""
        return Verdict(name, WRONG, f"un hilo de tu código ({thread}) terminó con {describe_error(error)}"
                                    f"{more}.{seen}",
                       "Un hilo que lanza una excepción muere en silencio y su trabajo se pierde. Si es un "
                       "TypeError de argumentos: `args` es una tupla, `args=(url,)` con la coma.")
    return verdict


def _judge(ex: Exercise, answer: Any) -> Verdict:
    name = ex.name
    try:
        note = ex.checker(answer)
    except NotImplementedError:
        what = "la clase" if inspect.isclass(answer) else "la función"
        return Verdict(name, PENDING, f"{what} todavía lanza NotImplementedError; "
                                      "reemplaza esa línea por tu solución.")
    except Incorrect as exc:
        return Verdict(name, WRONG, exc.message, exc.hint or ex.hint)
    except Exception as exc:  # the student's code crashed: that is a verdict too
        return Verdict(name, WRONG, f"tu código lanzó {describe_error(exc)}", ex.hint)
    return Verdict(name, RIGHT, note or ex.title)


@contextlib.contextmanager
def _restored(*modules: str):
    """The checkers' modules as they were, after the check: an answer that patches one
    (``nb03.expect = ...``) does not change the verdicts of the exercises after it.
    Within its own check it can; a grade rests on :mod:`support.exercises.graded`."""
    names = [*modules, "support.exercises", "support.exercises.guards", "support.exercises.loop",
             "support.checks.common"]
    saved = {m: dict(vars(sys.modules[m])) for m in names if m in sys.modules}
    try:
        yield
    finally:
        for module, before in saved.items():
            namespace = vars(sys.modules[module])
            for key in [k for k in namespace if k not in before]:
                del namespace[key]
            namespace.update(before)


def _load(name: str) -> Exercise | None:
    """The exercise ``name``, importing its notebook's checkers first (or all of them)."""
    try:
        importlib.import_module(f"support.checks.nb{name.split('.')[0]}")
    except ImportError:
        pass
    return _REGISTRY.get(name) or registry().get(name)


def check(name: str, answer: Any) -> Verdict:
    """Check ``answer``, print the verdict for the student, and return it.

    In IPython, an answer whose latest exercise cell did not run through (a
    ``SyntaxError``, or an error before the ``def``) is an older definition:
    the verdict says to run the exercise cell again instead of checking it.
    """
    if _defined_by_an_older_cell(answer):
        verdict = Verdict(name, PENDING, f"la última versión de la celda que define `{answer.__name__}` no "
                                         "llegó a ejecutarse (¿un SyntaxError, u otro error antes de la definición?): "
                                         "lo que está definido es una versión anterior. Corrige el error y "
                                         "vuelve a ejecutar la celda del ejercicio.")
    else:
        verdict = run_check(name, answer)
    print(verdict)
    return replace(verdict, printed=True)


def _defined_by_an_older_cell(answer: Any) -> bool:
    """True if ``answer`` was defined in IPython by a cell older than the latest one
    that defines its name at top level (so that latest cell failed before the ``def``).

    Compares the answer's source with that cell's text in ``In`` (the inputs of
    this session, failed ones included), both without indentation and blank
    lines. False whenever it cannot tell: outside IPython, no ``In``, an answer
    not from a notebook cell, or a source that ``inspect`` cannot find.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    inputs = getattr(shell, "user_ns", {}).get("In") if shell is not None else None
    name = getattr(answer, "__name__", None)
    if not inputs or not isinstance(name, str) or getattr(answer, "__module__", None) != "__main__":
        return False
    code = answer if not inspect.isclass(answer) else next(
        (v for v in vars(answer).values() if inspect.isfunction(v)), None)  # a class: one of its methods
    try:
        source = _normalized(inspect.getsource(code))
    except Exception:  # OSError, TypeError, a tokenizer error: this check must never break check()
        return False
    defines = re.compile(rf"^(?:async\s+def|def|class)\s+{re.escape(name)}\b", re.MULTILINE)
    latest = next((cell for cell in reversed(inputs) if isinstance(cell, str) and defines.search(cell)), None)
    return latest is not None and bool(source) and source not in _normalized(latest)


def _normalized(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())
