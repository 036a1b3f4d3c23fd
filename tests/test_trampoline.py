"""support.kernel.tasks (the reference Future/Task), support.crawlers.trampoline (the generator crawler) and
notebook 04's own definitions, which must behave the same.

The notebook keeps its Future and Task visible (they are the lesson); the
benchmark and notebook 05 import support.kernel.tasks. These tests extract the
notebook's cells with nbformat, exec() them, and run the same scenarios on
both copies.
"""

from __future__ import annotations

import socket
import types

import pytest
from notebook_cells import exec_cells

from support.crawlers.callbacks import crawl_callbacks
from support.crawlers.trampoline import crawl_trampoline, fetch
from support.kernel.eventloop import EventLoop
from support.kernel.tasks import Future, InvalidStateError, Task
from support.timeline import Timeline
from support.web.report import CONNECTION_REFUSED, DEADLINE, MAX_PAGES


@pytest.fixture(scope="module")
def notebook():
    """The notebook's Future, Task, lecture Task, I/O helpers and Fetcher, exec()'d."""
    ns: dict = {}
    exec("import socket\nfrom urllib.parse import urlsplit\n"
         "from support.crawlers.blocking import build_request, parse_response\n"
         "from support.timeline import Timeline\n", ns)
    exec_cells("04", "class Future:", "class TaskDeLaClase:", "class Task(Future):",
               "def esperar(", "def conectar(", "def enviar(", "def leer(", "class Fetcher:", namespace=ns, prefix=True)
    return types.SimpleNamespace(**{k: ns[k] for k in (
        "Future", "Task", "TaskDeLaClase", "siguiente_numero", "Fetcher")})


def _impls(notebook):
    return {"notebook": (notebook.Future, notebook.Task), "support": (Future, Task)}


# --------------------------------------------------------------------------
# The notebook's classes and the support copy behave the same
# --------------------------------------------------------------------------


def scenario(Future, Task) -> list:
    """Several coroutines and futures resolved in a fixed order; returns the log
    of every step, callback and outcome, in the order they happened."""
    log = []

    def adder(a, b):
        x = yield a
        log.append(("adder got", x))
        y = yield from b                   # yield from a future
        log.append(("adder got", y))
        return x + y

    def waiter(task):
        total = yield task                 # a task is a future
        log.append(("waiter got", total))
        raise ValueError(f"boom {total}")

    def rescuer(fut):
        try:
            yield fut
        except ConnectionError as exc:
            log.append(("rescuer caught", str(exc)))
            return "rescued"

    def already(fut):
        value = yield fut                  # a future that is done before it is yielded
        return value * 10

    a, b, c, d = Future("a"), Future("b"), Future("c"), Future("d")
    d.set_result(7)
    t_add = Task(adder(a, b), "adder")
    t_wait = Task(waiter(t_add), "waiter")
    t_rescue = Task(rescuer(c), "rescuer")
    t_already = Task(already(d), "already")
    for fut in (a, b, t_add, t_wait, t_rescue):
        fut.add_done_callback(lambda f: log.append(("done", f.name)))
    log.append(("pending", [t.done() for t in (t_add, t_wait, t_rescue, t_already)]))
    b.set_result(2)                        # nobody waits for b yet
    log.append(("after b", t_add.done()))
    a.set_result(1)                        # adder resumes, then finds b already done
    c.set_exception(ConnectionResetError("reset"))
    try:
        a.set_result(99)
    except RuntimeError:
        log.append(("a twice", "refused"))
    try:
        Future("x").result()
    except RuntimeError:
        log.append(("early result", "refused"))
    for t in (t_add, t_wait, t_rescue, t_already):
        try:
            log.append(("outcome", t.name, t.result()))
        except Exception as exc:
            log.append(("outcome", t.name, type(exc).__name__))
    return log


def test_scenario_is_meaningful():
    log = scenario(Future, Task)
    assert ("outcome", "adder", 3) in log
    assert ("outcome", "waiter", "ValueError") in log
    assert ("outcome", "rescuer", "rescued") in log
    assert ("outcome", "already", 70) in log
    assert ("rescuer caught", "reset") in log
    assert log.index(("adder got", 1)) < log.index(("adder got", 2)) < log.index(("waiter got", 3))


def test_notebook_future_and_task_behave_like_support(notebook):
    assert scenario(notebook.Future, notebook.Task) == scenario(Future, Task)


@pytest.mark.parametrize("which", ["notebook", "support"])
def test_result_before_done_raises(notebook, which):
    F, _ = _impls(notebook)[which]
    with pytest.raises(RuntimeError):
        F().result()


@pytest.mark.parametrize("which", ["notebook", "support"])
def test_callbacks_run_on_set_result_in_order(notebook, which):
    F, _ = _impls(notebook)[which]
    f, seen = F(), []
    f.add_done_callback(lambda fut: seen.append(("first", fut.result())))
    f.add_done_callback(lambda fut: seen.append(("second", fut.result())))
    assert seen == []
    f.set_result(5)
    assert seen == [("first", 5), ("second", 5)]
    f.add_done_callback(lambda fut: seen.append(("late", fut.result())))  # already done: runs now
    assert seen[-1] == ("late", 5)


@pytest.mark.parametrize("which", ["notebook", "support"])
def test_task_returns_the_coroutines_return_value(notebook, which):
    F, T = _impls(notebook)[which]
    fut = F()

    def coro():
        n = yield fut
        return n + 1

    task = T(coro())
    assert not task.done()
    fut.set_result(41)
    assert task.done() and task.result() == 42


@pytest.mark.parametrize("which", ["notebook", "support"])
def test_exception_inside_coroutine_propagates_to_the_task(notebook, which):
    F, T = _impls(notebook)[which]
    fut = F()

    def coro():
        n = yield fut
        return 1 / n

    task = T(coro())
    fut.set_result(0)
    with pytest.raises(ZeroDivisionError):
        task.result()


def test_lecture_task_sends_the_method_and_fails(notebook):
    """The notebook's claim: the lecture's Task sends `future.result` (a method)."""
    with pytest.raises(TypeError, match="non-None value"):
        notebook.TaskDeLaClase(notebook.siguiente_numero(notebook.Future()))
    sent = []

    def record():
        while True:
            sent.append((yield notebook.Future()))

    gen = record()
    next(gen)  # started by hand: the lecture's step then delivers the method, not the value
    task = notebook.TaskDeLaClase.__new__(notebook.TaskDeLaClase)
    task.coro = gen
    done = notebook.Future()
    done.set_result(41)
    task.step(done)
    assert callable(sent[0]) and sent[0]() == 41


def test_support_invalid_state_is_a_runtime_error():
    f = Future()
    with pytest.raises(InvalidStateError):
        f.result()
    f.set_result(1)
    with pytest.raises(InvalidStateError):
        f.set_exception(ValueError())
    assert issubclass(InvalidStateError, RuntimeError)


def test_notebook_fetcher_and_support_fetch_get_the_same_page(notebook, make_site):
    site = make_site(pages=5, latency=0.05)
    loop = EventLoop()
    try:
        mine = notebook.Task(notebook.Fetcher(loop, site.url_of(3)).fetch())
        ref = Task(fetch(loop, site.url_of(3)))
        loop.run(timeout=10)
    finally:
        loop.close()
    assert mine.result() == ref.result()
    assert ref.result()[0] == 200 and ref.result()[1].decode() == site.html_of(3)


# --------------------------------------------------------------------------
# The reference crawler
# --------------------------------------------------------------------------


def test_crawl_finds_every_page_of_the_labsite(make_site):
    site = make_site(pages=30, latency=0.02)
    timeline = Timeline()
    report = crawl_trampoline(site.url, timeline=timeline)
    assert set(report.crawled) == site.all_urls()
    assert set(report.crawled.values()) == {200}
    assert not report.failed
    assert any("mailto" in r for r in report.skipped.values())
    assert report.seconds > 0
    assert timeline.threads() == {"MainThread"}
    assert {s.phase for s in timeline.spans} == {"connect", "send", "receive"}
    assert set(timeline.keys()) == {"/"} | {f"/page/{i}" for i in range(1, 30)}
    assert timeline.max_overlap() > 1  # concurrent, on one thread


def test_crawl_matches_the_callback_crawler(make_site):
    site = make_site(pages=20, latency=0.05)
    ours, theirs = crawl_trampoline(site.url), crawl_callbacks(site.url)
    assert ours.crawled == theirs.crawled
    assert ours.skipped == theirs.skipped


def test_crawl_respects_max_pages(make_site):
    site = make_site(pages=30)
    report = crawl_trampoline(site.url, max_pages=5)
    assert len(report.crawled) == 5
    assert MAX_PAGES in report.skipped.values()


def test_connection_refused_is_a_failure_with_a_reason():
    with socket.socket() as bound:  # bound but not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/"
        report = crawl_trampoline(url, deadline=5)
    assert not report.crawled
    assert report.failed[url] == CONNECTION_REFUSED


def test_deadline_fails_pending_urls_and_returns(make_site):
    site = make_site(pages=3, latency=1.0)
    report = crawl_trampoline(site.url, deadline=0.3)
    assert report.failed == {site.url: DEADLINE}
    assert report.seconds >= 0.3  # failed, not crawled: it did not wait for the 1 s answer


def test_exception_stack_reaches_the_line_that_failed():
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        loop = EventLoop()
        task = Task(fetch(loop, f"http://127.0.0.1:{bound.getsockname()[1]}/"))
        loop.run(timeout=5)
        loop.close()
    exc = task.exception()
    assert isinstance(exc, ConnectionRefusedError)
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert frames[-2:] == ["fetch", "connect"]


# --------------------------------------------------------------------------
# The exercises, solved with the notebook's own classes, as a student would
# --------------------------------------------------------------------------

STUDENT_SOLUTIONS = '''
def suma(f1, f2):
    a = yield f1
    b = yield f2
    return a + b

def primero(futuros):
    ganador = Future()
    def al_terminar(f):
        if ganador.done():
            return
        try:
            ganador.set_result(f.result())
        except Exception as error:       # result() re-raises the future's failure
            ganador.set_exception(error)
    for f in futuros:
        f.add_done_callback(al_terminar)
    return ganador

def descargar_todas(loop, urls):
    tareas = {url: Task(Fetcher(loop, url).fetch()) for url in urls}
    resultado = {}
    for url, tarea in tareas.items():
        status, _cuerpo = yield tarea
        resultado[url] = status
    return resultado
'''


def test_checkers_accept_answers_written_with_the_notebooks_classes(notebook):
    from support.exercises import RIGHT, run_check

    ns = {"Future": notebook.Future, "Task": notebook.Task, "Fetcher": notebook.Fetcher}
    exec(STUDENT_SOLUTIONS, ns)
    for name in ("suma", "primero", "descargar_todas"):
        verdict = run_check(f"04.{name}", ns[name])
        assert verdict.status == RIGHT, str(verdict)
