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
:func:`exercise`. Reference solutions, and typical wrong answers that every
checker must reject, live in ``support/solutions/nbXX.py`` (teachers: look
there); ``tests/test_exercises.py`` proves both for every exercise.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import pkgutil
from dataclasses import dataclass, field, replace
from typing import Any, Callable

__all__ = ["check", "run_check", "exercise", "Incorrect", "expect", "Verdict", "registry", "run_async"]

PENDING, WRONG, RIGHT = "pendiente", "incorrecto", "correcto"
_ICONS = {PENDING: "⏳", WRONG: "❌", RIGHT: "✅"}


class Incorrect(Exception):
    """Raised by a checker: ``message`` says what is wrong, ``hint`` how to go on."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


def expect(condition: bool, message: str, hint: str = "") -> None:
    """Inside a checker: fail with ``message`` and ``hint`` unless ``condition``."""
    if not condition:
        raise Incorrect(message, hint)


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
    ex = registry().get(name)
    if ex is None:
        raise KeyError(f"no exercise called {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    if answer is None or answer is Ellipsis:
        return Verdict(name, PENDING, "todavía no hay respuesta; completa la celda de arriba.")
    try:
        note = ex.checker(answer)
    except NotImplementedError:
        return Verdict(name, PENDING, "la función todavía lanza NotImplementedError; "
                                      "reemplaza esa línea por tu solución.")
    except Incorrect as exc:
        return Verdict(name, WRONG, exc.message, exc.hint or ex.hint)
    except Exception as exc:  # the student's code crashed: that is a verdict too
        return Verdict(name, WRONG, f"tu código lanzó {type(exc).__name__}: {exc}", ex.hint)
    return Verdict(name, RIGHT, note or ex.title)


def check(name: str, answer: Any) -> Verdict:
    """Check ``answer``, print the verdict for the student, and return it."""
    verdict = run_check(name, answer)
    print(verdict)
    return replace(verdict, printed=True)


def run_async(fn: Callable[..., Any], *args, timeout: float = 60.0, **kwargs) -> Any:
    """Run ``await fn(*args, **kwargs)`` on a fresh event loop in a worker thread.

    Checkers of async exercises use it: inside a notebook the kernel's own loop
    is already running, so ``asyncio.run`` cannot be called from this thread.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, fn(*args, **kwargs)).result(timeout=timeout)
