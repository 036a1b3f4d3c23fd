"""Checkers of notebook 04 (coroutines built from generators).

The student's answers work with the notebook's own ``Future`` and ``Task``;
the checkers drive them with the reference copies of :mod:`support.kernel.tasks`
(the two behave the same, as ``tests/test_trampoline.py`` proves), so a
checker only relies on the protocol: ``result()``, ``set_result``,
``add_done_callback``, ``done()`` and generators that ``yield`` futures.

Student code runs under :func:`support.exercises.call_with_limit` with a line
budget, so an endless loop gives a verdict instead of hanging the notebook;
I/O runs on a fresh :class:`support.kernel.eventloop.EventLoop` with a timeout,
against a small local site that the checker starts and stops.
"""

from __future__ import annotations

import inspect
from typing import Any

from support.exercises import LINE_BUDGET, Incorrect, call_with_limit, draw, exercise, expect, limit, not_a_coroutine, short
from support.fmt import seg
from support.kernel.eventloop import EventLoop
from support.kernel.tasks import Future, Task
from support.labsite import LabSite


def _coroutine(fn, *args) -> Any:
    """Call the student's generator function; insist that it made a generator."""
    try:
        gen = fn(*args)
    except RuntimeError as exc:  # InvalidStateError, or the notebook's RuntimeError
        if "not done" in str(exc) or "no terminó" in str(exc):
            raise Incorrect(
                "tu función pidió result() a un futuro que todavía no terminó.",
                "No leas el resultado directamente: cede el futuro con `valor = yield futuro` "
                "y la Task te enviará su resultado cuando esté listo.") from None
        raise
    hint = ("Una corrutina de este notebook es una función con `yield` dentro "
            "(no `async def`): la Task la maneja con send().")
    not_a_coroutine(gen, f"tu función devolvió {type(gen).__name__}, no un generador.", hint)
    expect(inspect.isgenerator(gen), f"tu función devolvió {type(gen).__name__}, no un generador.", hint)
    return _yields_futures(gen)


def _yields_futures(gen):
    """``gen`` as the Task sees it, but a ``yield`` of anything but a Future is the verdict
    (the Task itself would fail with "'int' object has no attribute 'add_done_callback'")."""
    value, error = None, None
    while True:
        try:
            yielded = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration as stop:
            return stop.value
        if not _is_future(yielded):
            gen.close()
            raise Incorrect(f"tu corrutina cedió {short(yielded)} ({type(yielded).__name__}) con `yield`: una Task "
                            "espera que cada `yield` ceda un Future, y te envía su resultado cuando termina.",
                            "`yield futuro` para esperar; el resultado final va con `return`, no con `yield`.")
        value, error = None, None
        try:
            value = yield yielded
        except GeneratorExit:
            gen.close()
            raise
        except BaseException as exc:  # thrown in by the Task (a failed future): handed on to the answer
            error = exc


def _outcome(task: Task) -> str:
    """What a finished task ended with, as text for a verdict (a verdict found inside it is raised)."""
    exc = task.exception()
    if isinstance(exc, Incorrect):
        raise exc
    return f"lanzó {type(exc).__name__}: {str(exc)[:200]}" if exc is not None else f"devolvió {short(task.result())}"


# -- 04.suma -----------------------------------------------------------------

@exercise("04.suma", "suma(f1, f2) espera los dos futuros con yield y devuelve la suma",
          "Escribe `a = yield f1` y `b = yield f2`, y termina con `return a + b`.")
def check_suma(suma):
    return call_with_limit(_check_suma, suma, lines=LINE_BUDGET)


def _check_suma(suma):
    for order in ((0, 1), (1, 0)):
        f1, f2 = Future("f1"), Future("f2")
        task = Task(_coroutine(suma, f1, f2), "suma")
        futures = (f1, f2)
        if task.done():
            raise Incorrect(f"la tarea terminó sin esperar a ningún futuro: {_outcome(task)}.",
                            "Cede cada futuro con `yield` antes de usar su valor.")
        first = "f1" if order[0] == 0 else "f2"
        futures[order[0]].set_result(2)
        if task.done():
            raise Incorrect(f"con solo {first} resuelto, la tarea ya terminó: {_outcome(task)}.",
                            "Hay que esperar los dos futuros: un `yield` para cada uno.")
        futures[order[1]].set_result(40)
        expect(task.done(), "con los dos futuros resueltos, la tarea sigue pendiente.",
               "Después de recibir los dos valores, termina con `return a + b`.")
        if task.exception() is not None or task.result() != 42:
            raise Incorrect(f"con f1 = {f1.result()} y f2 = {f2.result()}, tu corrutina {_outcome(task)} "
                            "(se esperaba 42).",
                            "El valor de `yield f1` es el resultado de f1 (la Task lo envía con send); "
                            "súmalos y devuélvelos con `return`.")
    f1, f2 = Future("f1"), Future("f2")
    f1.set_result(1)
    f2.set_result(2)
    task = Task(_coroutine(suma, f1, f2), "suma")
    expect(task.done() and task.exception() is None and task.result() == 3,
           "con los dos futuros ya resueltos de antemano, la tarea no devolvió 3.",
           "Ceder un futuro ya resuelto también funciona: la Task sigue enseguida.")
    return "tu corrutina espera los dos futuros, en cualquier orden, y devuelve la suma"


# -- 04.primero --------------------------------------------------------------

@exercise("04.primero", "primero(futuros) devuelve un Future con el resultado del primero que termine",
          "Crea `ganador = Future()`; anota en cada futuro un callback que, solo si `not ganador.done()`, "
          "haga `ganador.set_result(f.result())`, y si `f.result()` lanza una excepción, "
          "`ganador.set_exception(error)`; devuelve `ganador`.")
def check_primero(primero):
    return call_with_limit(_check_primero, primero, lines=LINE_BUDGET)


def _is_future(obj) -> bool:
    return all(callable(getattr(obj, name, None)) for name in ("done", "result", "add_done_callback"))


def _check_primero(primero):
    futures = [Future(f"f{i}") for i in range(3)]
    winner = primero(futures)
    hint = ("Devuelve un Future nuevo (no un resultado, no una corrutina): quien lo reciba "
            "podrá cederlo con `yield` o anotarse con add_done_callback.")
    not_a_coroutine(winner, f"primero devolvió {type(winner).__name__}, no un Future.", hint)
    expect(_is_future(winner), f"primero devolvió {type(winner).__name__}, no un Future.", hint)
    expect(winner is not futures[0] and winner not in futures,
           "primero devolvió uno de los futuros de la lista; debe devolver uno nuevo.",
           "El primero de la lista no es necesariamente el primero en terminar: crea un Future nuevo.")
    expect(not winner.done(), "el Future devuelto ya está resuelto aunque ningún futuro terminó.",
           "Resuélvelo desde un callback, cuando termine alguno de los futuros.")
    futures[1].set_result("b")
    expect(winner.done(), "terminó f1 y el Future devuelto sigue pendiente.",
           "Anota un callback en **cada** futuro con add_done_callback.")
    expect(winner.result() == "b", f"terminó f1 con 'b' y tu Future tiene {short(winner.result())}.",
           "El callback recibe el futuro que terminó: usa su result().")
    try:
        futures[0].set_result("a")
        futures[2].set_result("c")
    except RuntimeError as exc:
        raise Incorrect(f"al terminar otro futuro después, tu código lanzó {type(exc).__name__}: {exc}",
                        "Un Future se resuelve una sola vez: en el callback, comprueba "
                        "`if not ganador.done()` antes de set_result.") from None
    expect(winner.result() == "b", f"después de terminar los demás, tu Future tiene {short(winner.result())}, no 'b'.",
           "Solo cuenta el primero: los siguientes no deben cambiar el resultado.")
    early = [Future("f0"), Future("f1")]
    early[1].set_result("ya")
    winner = primero(early)
    expect(_is_future(winner) and winner.done() and winner.result() == "ya",
           "si uno de los futuros ya estaba resuelto, el Future devuelto debe resolverse con él enseguida.",
           "add_done_callback sobre un futuro ya resuelto llama al callback en el acto: aprovéchalo.")
    failing = [Future("f0"), Future("f1")]
    winner = primero(failing)
    error = ConnectionResetError("el servidor cortó")
    try:
        failing[0].set_exception(error)
        failing[1].set_result("tarde")
    except Exception as exc:
        raise Incorrect(f"cuando el primero en terminar falló, tu código lanzó {type(exc).__name__}: {exc}",
                        "`f.result()` vuelve a lanzar el error del futuro: en el callback, "
                        "atrápalo con try/except y entrégalo con `ganador.set_exception(error)`.") from None
    expect(_is_future(winner) and winner.done(),
           "el primero en terminar falló y tu Future quedó pendiente.",
           "Si el futuro que terminó primero falló, termina tu Future con `set_exception(error)`.")
    try:
        outcome = winner.result()
    except Exception as exc:  # what whoever waits on your Future would get
        outcome = exc
    expect(outcome is error,
           f"el primero en terminar falló con ConnectionResetError y `result()` de tu Future da {short(outcome)}.",
           "Entrega la misma excepción con `set_exception`; los que terminen después no cuentan.")
    return "tu Future se resuelve con el primero que termina, con su valor o su error, y los demás no molestan"


# -- 04.descargar_todas --------------------------------------------------------

LATENCY = 0.15


def _start_and_run(descargar_todas, loop: EventLoop, urls: list[str]) -> Task:
    """The student's coroutine as a Task on ``loop``, and the loop run until it is idle (the time limit at most)."""
    task = Task(_coroutine(descargar_todas, loop, urls), "descargar_todas")
    loop.run(limit())
    return task


@exercise("04.descargar_todas", "descargar_todas(loop, urls) descarga todas las URLs a la vez y devuelve {url: status}",
          "Primero crea todas las tareas (`tareas = {url: Task(Fetcher(loop, url).fetch()) for url in urls}`); "
          "después, en otro bucle, `status, _ = yield tarea` para cada una.")
def check_descargar_todas(descargar_todas):
    with LabSite(pages=5, latency=LATENCY) as site:
        rng = draw("04.descargar_todas")
        missing = "/" + "".join(rng.choice("abcdefghijkmpqrstuvwxyz") for _ in range(6))
        urls = [site.url_of(i) for i in (1, 2, 3, 4)] + [site.url.rstrip("/") + missing]
        expected = {url: 200 for url in urls[:-1]} | {urls[-1]: 404}
        loop = EventLoop()
        try:
            task = call_with_limit(_start_and_run, descargar_todas, loop, urls, lines=LINE_BUDGET, limit=limit(1.2))
        except TimeoutError:  # the toy loop's own timeout
            raise Incorrect(f"el bucle siguió esperando más del tiempo límite ({seg(limit())}).",
                            "¿Quedó algún socket registrado sin que nadie lo atienda?") from None
        finally:
            loop.close()
        in_flight = site.stats.max_in_flight
    expect(task.done(), "el bucle terminó pero tu corrutina sigue esperando un futuro que nadie resuelve.",
           "Cede solo las tareas que creaste (`yield tarea`): el bucle las resuelve.")
    expect(task.exception() is None, f"tu corrutina {_outcome(task)}.",
           "Espera cada tarea con `status, cuerpo = yield tarea` antes de usar su resultado.")
    answer = task.result()
    expect(isinstance(answer, dict), f"tu corrutina devolvió {type(answer).__name__}, no un diccionario.",
           "Devuelve `{url: status}`, con el status de cada descarga.")
    expect(answer == expected,
           f"se esperaba {len(expected)} URLs con su status (200, y 404 para {missing}); "
           f"tu diccionario tiene {short(sorted(map(str, answer.values())))}.",
           "Cada tarea termina con (status, cuerpo): guarda solo el status.")
    expect(in_flight == len(urls),
           f"el servidor vio como mucho {in_flight} petición(es) a la vez, de {len(urls)}: "
           "las descargas fueron una a una.",
           "Si esperas cada tarea justo después de crearla, la siguiente no empieza hasta que "
           "termina la anterior. Crea todas las tareas primero y espéralas después.")
    return f"las {len(urls)} descargas fueron a la vez"
