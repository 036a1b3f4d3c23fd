"""Notebook 06's exercise checkers, each against its solution and each named
wrong answer (with the reason it must give), and the instruments of
support.measure.aio_watch that the notebook reads its measurements through."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import pytest

from support.exercises import RIGHT, WRONG, run_check
from support.measure.aio_watch import asyncio_log, getaddrinfo_calls, loop_exceptions
from teacher.solutions import nb06 as solutions

# Each wrong answer and a piece of the message that names its mistake.
NAMED_WRONG = {
    "06.todas_o_ninguna": {"_con_gather": "huérfanas", "_en_serie": "a la vez"},
    "06.con_reintentos": {"_traga_la_cancelacion": "Te tragaste la cancelación",
                          "_base_exception": "Te tragaste la cancelación",
                          "_sin_reintentos": "con 2 fallos y 3 intentos"},
    "06.visitar_una_vez": {"_await_en_medio": "más de una vez", "_lock_sobre_la_descarga": "en fila"},
    "06.lanzar": {"_creada_y_soltada": "destruida mientras corría", "_nunca_sale": "crece sin fin"},
}


@pytest.mark.parametrize("name", sorted(NAMED_WRONG))
def test_the_solution_is_accepted(name):
    verdict = run_check(name, getattr(solutions, name.split(".")[1]))
    assert verdict.status == RIGHT, str(verdict)


@pytest.mark.parametrize("name,wrong,reason",
                         [(n, w, r) for n, answers in sorted(NAMED_WRONG.items()) for w, r in answers.items()])
def test_each_named_wrong_answer_is_rejected_for_its_reason(name, wrong, reason):
    answer = getattr(solutions, wrong)
    assert answer in solutions.WRONG_ANSWERS[name]
    verdict = run_check(name, answer)
    assert verdict.status == WRONG and reason in verdict.message, str(verdict)
    assert verdict.hint


def test_every_listed_wrong_answer_is_named_here():
    for name, answers in solutions.WRONG_ANSWERS.items():
        named = {(a[0] if isinstance(a, tuple) else a).__name__ for a in answers}  # (answer, words) too
        assert set(NAMED_WRONG[name]) <= named, name


def test_asyncio_log_collects_debug_mode_warnings_and_restores_the_logger():
    logger = logging.getLogger("asyncio")
    before = (logger.level, logger.propagate, list(logger.handlers))

    async def main():
        loop = asyncio.get_running_loop()
        loop.slow_callback_duration = 0.02

        async def blocks():
            import time
            time.sleep(0.05)

        with asyncio_log() as messages:
            await asyncio.create_task(blocks())
        return messages

    messages = asyncio.run(main(), debug=True)
    assert any("blocks" in m and "took" in m for m in messages)
    assert (logger.level, logger.propagate, list(logger.handlers)) == before


def test_loop_exceptions_collects_and_restores_the_handler():
    async def main():
        loop = asyncio.get_running_loop()
        with loop_exceptions() as messages:
            loop.call_exception_handler({"message": "hola"})
        return messages, loop.get_exception_handler()

    messages, handler = asyncio.run(main())
    assert messages == ["hola"] and handler is None


def test_getaddrinfo_calls_records_host_and_thread():
    real = socket.getaddrinfo
    with getaddrinfo_calls() as calls:
        t = threading.Thread(target=socket.getaddrinfo, args=("localhost", 80), name="resolver")
        t.start()
        t.join()
    assert [(c.host, c.thread) for c in calls] == [("localhost", "resolver")] and calls[0].seconds >= 0
    assert socket.getaddrinfo is real
