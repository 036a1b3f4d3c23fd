"""Every exercise checker accepts its reference solution and rejects typical wrong answers."""

from __future__ import annotations

import importlib

import pytest

from support.exercises import PENDING, RIGHT, WRONG, registry, run_check

EXERCISES = sorted(registry())


def _solutions(name: str):
    module = importlib.import_module(f"support.solutions.nb{name.split('.')[0]}")
    return module, name.split(".", 1)[1]


def test_every_notebook_from_01_has_exercises():
    notebooks = {name.split(".")[0] for name in EXERCISES}
    for nb in notebooks:
        count = sum(1 for name in EXERCISES if name.startswith(nb + "."))
        assert 2 <= count <= 4, f"notebook {nb} has {count} exercises, COURSE.md asks for 2-4"


@pytest.mark.parametrize("name", EXERCISES)
def test_solution_is_accepted(name):
    module, attr = _solutions(name)
    verdict = run_check(name, getattr(module, attr))
    assert verdict.status == RIGHT, str(verdict)


@pytest.mark.parametrize("name", EXERCISES)
def test_typical_wrong_answers_are_rejected(name):
    module, _ = _solutions(name)
    wrong = module.WRONG_ANSWERS.get(name, [])
    assert len(wrong) >= 2, f"{name}: list at least two typical wrong answers"
    for answer in wrong:
        verdict = run_check(name, answer)
        assert verdict.status == WRONG, f"{name} accepted a wrong answer: {verdict}"
        assert verdict.hint, f"{name}: a wrong answer must come with a hint"


@pytest.mark.parametrize("name", EXERCISES)
# The test hands an async stub to sync checkers too; the coroutine they create is never awaited.
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_unsolved_stub_is_pending(name):
    def stub(*args, **kwargs):
        raise NotImplementedError

    async def async_stub(*args, **kwargs):
        raise NotImplementedError

    assert run_check(name, None).status == PENDING
    # A stub is sync or async depending on the exercise: one of the two forms must read as pending.
    verdicts = {run_check(name, stub).status, run_check(name, async_stub).status}
    assert PENDING in verdicts, f"{name}: an untouched stub must be 'pendiente', got {verdicts}"
