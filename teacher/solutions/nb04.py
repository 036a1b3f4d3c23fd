"""Reference solutions of notebook 04's exercises, and typical wrong answers.

They use the reference ``Future`` and ``Task`` of :mod:`support.kernel.tasks` and
``fetch`` of :mod:`support.crawlers.trampoline`; in the notebook the same code is written with the
notebook's own classes and ``Fetcher(loop, url).fetch()``.
"""

from __future__ import annotations

from support.crawlers.trampoline import fetch
from support.kernel.tasks import Future, Task

# -- 04.suma -----------------------------------------------------------------

def suma(f1, f2):
    """Wait for both futures, in order, and return the sum of their results."""
    a = yield f1
    b = yield f2
    return a + b


def _suma_sin_yield(f1, f2):
    # Reads the results straight away: not a coroutine, and the futures are not done yet.
    return f1.result() + f2.result()


def _suma_espera_solo_f1(f1, f2):
    # Waits for f1 only, then reads f2 as if it were already done.
    a = yield f1
    return a + f2.result()


def _suma_metodo_sin_llamar(f1, f2):
    # The lecture's slip in miniature: the bound method instead of the result.
    yield f1
    yield f2
    return f1.result + f2.result


def _suma_cede_el_resultado(f1, f2):
    # `yield` where `return` belongs (issue 21): the Task is handed an int to wait for.
    a = yield f1
    b = yield f2
    yield a + b


# -- 04.primero --------------------------------------------------------------

def primero(futuros):
    """A new future resolved with the result of whichever of ``futuros`` finishes first."""
    ganador = Future("primero")

    def al_terminar(f):
        if ganador.done():
            return
        try:
            valor = f.result()
        except Exception as error:  # result() re-raises the failure of the future
            ganador.set_exception(error)
        else:
            ganador.set_result(valor)

    for f in futuros:
        f.add_done_callback(al_terminar)
    return ganador


def _primero_sin_errores(futuros):
    # f.result() re-raises a failure inside the callback: the winner stays pending.
    ganador = Future("primero")

    def al_terminar(f):
        if not ganador.done():
            ganador.set_result(f.result())

    for f in futuros:
        f.add_done_callback(al_terminar)
    return ganador


def _primero_sin_comprobar(futuros):
    # Resolves the winner again when the second future finishes: set_result twice raises.
    ganador = Future("primero")
    for f in futuros:
        f.add_done_callback(lambda f: ganador.set_result(f.result()))
    return ganador


def _primero_de_la_lista(futuros):
    # The first in the list is not the first to finish.
    return futuros[0]


def _primero_el_ultimo(futuros):
    # Waits for all of them and keeps the last result.
    ganador = Future("primero")
    pendientes = set(range(len(futuros)))

    def al_terminar(i, f):
        pendientes.discard(i)
        if not pendientes:
            ganador.set_result(f.result())

    for i, f in enumerate(futuros):
        f.add_done_callback(lambda f, i=i: al_terminar(i, f))
    return ganador


# -- 04.descargar_todas --------------------------------------------------------

def descargar_todas(loop, urls):
    """Start one task per URL, then wait for each: ``{url: status}``."""
    tareas = {url: Task(fetch(loop, url), url) for url in urls}
    resultado = {}
    for url, tarea in tareas.items():
        status, _cuerpo = yield tarea
        resultado[url] = status
    return resultado


def _descargar_guarda_la_tupla(loop, urls):
    # Stores (status, body): five pages of HTML that a verdict must not print whole (issue 21).
    tareas = {url: Task(fetch(loop, url), url) for url in urls}
    resultado = {}
    for url, tarea in tareas.items():
        resultado[url] = yield tarea
    return resultado


def _descargar_de_a_una(loop, urls):
    # Waits for each task right after creating it: correct results, no concurrency.
    resultado = {}
    for url in urls:
        status, _cuerpo = yield Task(fetch(loop, url), url)
        resultado[url] = status
    return resultado


def _descargar_sin_esperar(loop, urls):
    # Creates the tasks but reads their results before they are done.
    tareas = {url: Task(fetch(loop, url), url) for url in urls}
    return {url: tarea.result()[0] for url, tarea in tareas.items()}
    yield  # a generator, but the return above comes first


def _descargar_lista(loop, urls):
    # Concurrent, but returns a list of (status, body) instead of {url: status}.
    tareas = [Task(fetch(loop, url), url) for url in urls]
    resultados = []
    for tarea in tareas:
        resultados.append((yield tarea))
    return resultados


WRONG_ANSWERS = {
    "04.suma": [_suma_sin_yield, _suma_espera_solo_f1, _suma_metodo_sin_llamar,
                (_suma_cede_el_resultado, "cada `yield` ceda un Future")],
    "04.primero": [_primero_sin_comprobar, _primero_de_la_lista, _primero_el_ultimo, _primero_sin_errores],
    "04.descargar_todas": [_descargar_de_a_una, _descargar_sin_esperar, _descargar_lista,
                           (_descargar_guarda_la_tupla, "status")],
}
