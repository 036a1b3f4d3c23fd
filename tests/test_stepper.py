"""The stepper of notebooks 02 and 04 (support.kernel.stepper, stepper_view): it observes the
toy loop and never changes its order; every field of its view is right on a scripted
scenario (sockets, timers, a cancel); its questions accept the right answer and explain a
wrong one. Virtual time: the clock only moves when the loop waits."""

from __future__ import annotations

import socket

import pytest
from virtual_time import virtual_loop

from support.kernel.stepper import Question, Stepper, table, timeline_text
from support.kernel.stepper_view import Vista
from support.kernel.tasks import Task, sleep, wait_readable


def _scenario(log):
    """A reader waiting on a socket, a writer that sends after 0.1 s, a sleeper cancelled
    at 0.2 s by a timer, and a call_soon chain; every resumption writes to ``log``."""
    loop, clock = virtual_loop()
    a, b = socket.socketpair()

    def lector():
        yield from wait_readable(loop, a, "leer a")
        log.append(("lector", a.recv(10)))

    def dormilona():
        try:
            yield from sleep(loop, 10)
        finally:
            log.append(("dormilona", "finally"))

    def escritor():
        yield from sleep(loop, 0.1)
        b.send(b"hola")
        loop.call_soon(log.append, ("call_soon", "tras enviar"))
        log.append(("escritor", "envió"))

    tasks = [Task(lector(), "lector"), Task(dormilona(), "dormilona"), Task(escritor(), "escritor")]
    loop.call_later(0.2, tasks[1].cancel)
    loop.on_turn = lambda lp, events: log.append(("select", len(events)))
    return loop, tasks, (a, b)


def _recorded(steps=None):
    log = []
    loop, tasks, socks = _scenario(log)
    try:
        if steps is None:
            loop.run(timeout=30)
        else:
            steps.extend(Stepper(loop, tasks).run())
    finally:
        for s in socks:
            s.close()
        loop.close()
    return log, tasks


def test_the_stepper_records_the_order_the_loop_runs_without_it():
    plain, plain_tasks = _recorded()
    steps: list = []
    stepped, stepped_tasks = _recorded(steps)
    assert stepped == plain  # same callbacks, same selects, same order
    assert ("select", 1) in plain and ("dormilona", "finally") in plain
    assert [t.cancelled() for t in stepped_tasks] == [t.cancelled() for t in plain_tasks] == [False, True, False]
    selects = [s for s in steps if s.kind == "select"]
    assert [len(s.events) for s in selects] == [n for kind, n in plain if kind == "select"]
    assert steps[-1].turn == len(selects)


@pytest.fixture
def steps():
    out: list = []
    _recorded(out)
    return out


def _step(steps, turn, kind, nth=1):
    return [s for s in steps if s.turn == turn and s.kind == kind][nth - 1]


def test_the_initial_view_shows_sockets_timers_tasks_and_futures(steps):
    snap = steps[0].after
    assert snap.ready == [] and snap.clock == 0
    assert snap.watched == [("socket 1", "leer", "ready → resuelve «leer a»")]
    assert [(round(w, 6), what) for w, what in snap.timers] == [
        (0.1, "_resolve_unless_done(«sleep 0.1»)"), (0.2, "cancel de «dormilona»"),
        (10.0, "_resolve_unless_done(«sleep 10»)")]
    assert [(t.name, t.state, t.waits) for t in snap.tasks] == [
        ("lector", "suspendida", "«leer a»"), ("dormilona", "suspendida", "«sleep 10»"),
        ("escritor", "suspendida", "«sleep 0.1»")]
    lector, dormilona, _ = snap.tasks
    assert lector.where.startswith("lector, línea") and lector.where.endswith('yield from wait_readable(loop, a, "leer a")')
    assert dormilona.where.startswith("dormilona → sleep, línea") and dormilona.where.endswith("yield from future")
    assert snap.futures[0] == ("«leer a»", "la tarea «lector»; released")


def test_each_kind_of_step_shows_what_happened(steps):
    first = _step(steps, 1, "select")
    assert first.what == "select(espera máx. 0,10 s) → nada" and first.after.clock == pytest.approx(0.1)
    assert first.after.ready == ["_resolve_unless_done(«sleep 0.1»)"]  # the due timer moved to the queue
    wake = _step(steps, 1, "callback")
    assert wake.resumed == ["escritor"] and wake.cancelled == []
    assert wake.after.ready == ["list.append(('call_soon', 'tras enviar'))"]  # waits for the next turn
    second = _step(steps, 2, "select")
    assert second.what == "select(espera máx. 0,00 s) → socket 1 (leer)"  # work was ready: select only looks
    assert second.after.ready == ["list.append(('call_soon', 'tras enviar'))", "ready → resuelve «leer a» (socket 1)"]
    read = _step(steps, 2, "callback", 2)
    assert read.resumed == ["lector"] and read.after.watched == []
    assert [t.state for t in read.after.tasks if t.name == "lector"] == ["terminada: None"]
    cancel = _step(steps, 3, "callback")
    assert cancel.what == "cancel de «dormilona»" and cancel.resumed == cancel.cancelled == ["dormilona"]
    assert cancel.after.timers == [] and cancel.after.futures == []
    assert [t.state for t in cancel.after.tasks if t.name == "dormilona"] == ["cancelada"]
    assert steps[-1] is cancel  # nothing pending after the cancel: the 10 s timer went with it


def test_table_and_timeline_print_every_turn(steps):
    text = table(steps)
    assert text.splitlines()[0].split() == ["paso", "vuelta", "reloj", "qué", "pasó"]
    assert len(text.splitlines()) == len(steps)
    assert "✗ cancelación a dormilona" in text
    assert timeline_text(steps).splitlines() == [
        "vuelta        1  2  3", "escritor      ▶  ·  ·", "list.append   ·  ▶  ·", "lector        ·  ▶  ·",
        "dormilona     ·  ·  ▶"]


@pytest.mark.parametrize("kind, turn, nth, answer", [
    ("select", 2, 1, "socket 1 (leer)"),
    ("callback", 2, 1, "list.append(('call_soon', 'tras enviar'))"),
    ("tarea", 2, 2, "lector"),
    ("cancel", 3, 1, "dormilona"),
])
def test_questions_accept_the_right_answer_and_explain_a_wrong_one(steps, kind, turn, nth, answer):
    q = Question(kind, turn, "porque lo dice el bucle", nth=nth).attach(steps)
    assert q.answer == answer and answer in q.options and len(q.options) >= 2
    ok, why = q.check(answer)
    assert ok and why == "¡Bien! porque lo dice el bucle"
    wrong = next(o for o in q.options if o != answer)
    ok, why = q.check(wrong)
    assert not ok and why == f"No: {answer}. porque lo dice el bucle"


def test_a_question_about_a_step_that_never_happens_is_refused(steps):
    with pytest.raises(ValueError):
        Question("select", 99, "nunca").attach(steps)


def test_the_view_stops_once_before_each_question_and_never_blocks(steps):
    view = Vista(steps, [Question("select", 2, "ya hay trabajo"), Question("cancel", 3, "el temporizador")])
    view.next_callback()
    assert view.cursor == 2 and view.open_question().kind == "select"  # stopped before the select of turn 2
    view.next_callback()  # goes on without an answer
    assert view.cursor == 4 and [s.kind for s in view.last] == ["select", "callback"]
    view.to_end()
    assert view.cursor == len(steps) - 1 and "fin: no queda nada pendiente" in view.header()
    assert "dormilona" in view.state() and "cancelada" in view.state()
    assert "<table>" in view.timeline()
    view.reset()
    assert view.cursor == 0 and "Todavía no pasó nada" in view.happened()


def test_the_widget_builds_and_a_click_moves_the_view(steps):
    pytest.importorskip("ipywidgets")
    from support.kernel.stepper_view import vista

    widget = vista(steps)
    header, buttons = widget.children[0], widget.children[1].children
    assert "Paso 0 de" in header.value
    buttons[1].click()  # Siguiente vuelta
    assert "Paso 1 de" in header.value


def test_steps_over_the_local_site_repeat_exactly():
    """SteadySelector: real sockets, the same steps on every run (what the notebooks store)."""
    from support.crawlers.callbacks import Fetcher
    from support.labsite import LabSite

    tables = []
    with LabSite(pages=3, latency=(0.05, 0.4)) as site:
        for _ in range(2):
            loop, _clock = virtual_loop(steady=True)
            done = []
            for i in (1, 2):
                Fetcher(loop, site.url_of(i), on_done=done.append).start()
            tables.append(table(Stepper(loop).run()))
            loop.close()
            assert [f.status for f in done] == [200, 200]
    assert tables[0] == tables[1]
    assert "select(espera máx. 1,00 s) → socket 1 (escribir), socket 2 (escribir)" in tables[0]
