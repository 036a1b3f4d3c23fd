"""Checkers of notebook 06 (concurrencia estructurada, cancelación y carreras).

The student's coroutines get fake ``obtener``/``descargar``/``permitida``
coroutines that sleep and record what happened to them: how many calls were in
flight at once, which were cancelled, which were still running when the
student's code returned or raised. Verdicts rest on those records (an orphan
is a call still running after the error reached the caller; a race is the same
URL downloaded twice; a lock held across the download is a maximum of one
download in flight), not on a wall clock alone.

Discussion: each scenario runs on a fresh loop in a worker thread with
:func:`support.exercises.run_async`, whose ``timeout`` bounds a coroutine that
never ends (for instance, one that swallows the cancellation forever).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import time
import weakref

from support.checks.common import Probe, expect_results
from support.exercises import describe_error, draw, excuse_block, exercise, expect, require_async, run_async, short
from support.fmt import seg


def _run(scenario):
    try:
        return run_async(scenario, hint="¿Atrapas la cancelación y sigues esperando?")
    except BaseExceptionGroup as eg:  # an untouched stub raised inside a TaskGroup: still pending
        if any(isinstance(e, NotImplementedError) for e in _errors_in(eg)):
            raise NotImplementedError from None
        raise


def _errors_in(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [e for sub in exc.exceptions for e in _errors_in(sub)]
    return [exc]


# --------------------------------------------------------------------------


@exercise("06.todas_o_ninguna", "todas a la vez; si una falla, las demás canceladas",
          "Crea las tareas dentro de `async with asyncio.TaskGroup() as grupo:` y devuelve "
          "`[t.result() for t in tareas]` después del bloque.")
def check_todas_o_ninguna(answer):
    answer = require_async(answer, "todas_o_ninguna")
    urls = [f"/page/{i}" for i in range(6)]
    probe = Probe({u: 0.05 + 0.01 * (len(urls) - i) for i, u in enumerate(urls)})

    async def all_fine():
        return await answer(probe, urls)

    result = _run(all_fine)
    expect(probe.max_in_flight == len(urls),
           f"como mucho {probe.max_in_flight} llamada(s) a la vez; tenían que ir las {len(urls)} juntas.",
           "Crea todas las tareas antes de esperar ninguna.")
    expect_results(result, [probe.value(u) for u in urls], "las URLs",
                   "Guarda las tareas en una lista y lee sus resultados en ese orden.")

    bad = Probe({u: (0.01 if u == "/rota" else 0.5) for u in urls + ["/rota"]},
                 {"/rota": ConnectionError("/rota falló")})

    async def one_fails():
        start = time.perf_counter()
        try:
            await answer(bad, urls + ["/rota"])
        except BaseException as exc:
            return _errors_in(exc), set(bad.running), time.perf_counter() - start
        return None, set(bad.running), time.perf_counter() - start

    errors, still_running, seconds = _run(one_fails)
    expect(errors is not None, "una URL falló y tu corrutina no lanzó ningún error.",
           "No atrapes el error: que llegue a quien llamó.")
    expect(any(isinstance(e, ConnectionError) for e in errors),
           f"el error que llegó no es el de la URL rota: {'; '.join(describe_error(e, 120) for e in errors[:3])}",
           "Deja pasar el error original (el TaskGroup lo envuelve en un ExceptionGroup).")
    expect(not still_running,
           f"cuando el error te llegó, {len(still_running)} llamada(s) seguían corriendo: quedaron huérfanas.",
           "gather no cancela a las demás cuando una falla; un TaskGroup sí.")
    expect(len(bad.cancelled) == len(urls) and seconds < 0.4,
           f"canceladas: {len(bad.cancelled)} de {len(urls)}, el error llegó a los {seg(seconds)}.",
           "Si una falla, las demás deben cancelarse enseguida, no esperar a que terminen.")
    return f"las {len(urls)} a la vez; con una rota, {len(bad.cancelled)} canceladas y nada huérfano"


@exercise("06.con_reintentos", "reintentar los fallos, nunca la cancelación",
          "Atrapa `Exception` (no `BaseException`, ni un `except:` desnudo): "
          "CancelledError no es una Exception y debe seguir su camino.")
def check_con_reintentos(answer):
    answer = require_async(answer, "con_reintentos")

    class Flaky:
        """Fails ``failures`` times, then answers."""

        def __init__(self, failures: int, delay: float = 0.01):
            self.failures, self.delay, self.calls = failures, delay, 0

        async def __call__(self, url):
            self.calls += 1
            await asyncio.sleep(self.delay)
            if self.calls <= self.failures:
                raise ConnectionError(f"fallo {self.calls}")
            return url.upper()

    async def retries():
        ok = Flaky(2)
        try:
            value = await answer(ok, "/x", 3)
        except ConnectionError as exc:
            value = exc
        bad = Flaky(5)
        try:
            await answer(bad, "/x", 3)
        except ConnectionError as exc:
            return value, ok.calls, bad.calls, str(exc)
        return value, ok.calls, bad.calls, None

    value, ok_calls, bad_calls, last = _run(retries)
    expect(value == "/X" and ok_calls == 3,
           f"con 2 fallos y 3 intentos devolviste {short(value)} tras {ok_calls} llamada(s).",
           "Reintenta mientras queden intentos y devuelve el primer resultado bueno.")
    expect(bad_calls == 3 and last == "fallo 3",
           f"con 5 fallos y 3 intentos hiciste {bad_calls} llamada(s) y lanzaste {short(last)}.",
           "Tras el último intento, lanza la última excepción (`raise` dentro del except, o guárdala).")

    async def cancelled():
        slow = Flaky(0, delay=0.3)
        start = time.perf_counter()
        try:
            async with asyncio.timeout(0.1):
                await answer(slow, "/lenta", 5)
        except TimeoutError:
            return "TimeoutError", time.perf_counter() - start, slow.calls
        return "sin error", time.perf_counter() - start, slow.calls

    outcome, seconds, calls = _run(cancelled)
    expect(outcome == "TimeoutError" and calls == 1,
           f"con un plazo de 0,1 s tu corrutina siguió {seg(seconds)}, hizo {calls} llamada(s) "
           f"y quien la llamó vio: {outcome}. Te tragaste la cancelación.",
           "Un `except:` desnudo o `except BaseException` atrapa CancelledError; usa `except Exception`.")
    return "reintenta los fallos y deja pasar la cancelación"


@exercise("06.visitar_una_vez", "una descarga por URL, sin carreras y sin poner en fila",
          "Marca la URL como vista ANTES del primer await (`vistas.add(url)` justo después de comprobarla).")
def check_visitar_una_vez(answer):
    answer = require_async(answer, "visitar_una_vez")
    urls = [f"/page/{i}" for i in range(5)] * 4
    rejected = draw("06.visitar_una_vez").choice(urls)  # the one `permitida` says no to, drawn for each run
    kept = sorted(set(urls) - {rejected})
    allowed = Probe({u: 0.01 for u in urls})
    download = Probe({u: 0.1 for u in urls})

    async def permitida(url):
        await allowed(url)
        return url != rejected

    async def scenario():
        vistas: set = set()
        start = time.perf_counter()
        async with asyncio.TaskGroup() as grupo:
            tasks = [grupo.create_task(answer(u, vistas, permitida, download)) for u in urls]
        return [t.result() for t in tasks], time.perf_counter() - start

    results, seconds = _run(scenario)
    twice = sorted({u for u in download.called if download.called.count(u) > 1})
    expect(not twice, f"descargaste más de una vez: {', '.join(twice)} ({len(download.called)} descargas).",
           "Entre `if url in vistas` y `vistas.add(url)` hay un await: otra corrutina entra en medio.")
    expect(rejected not in download.called, "descargaste una URL que `permitida` rechazó.",
           "Pregunta `await permitida(url)` antes de descargar.")
    expect(sorted(download.called) == kept,
           f"se descargaron {short(sorted(download.called))}; tocaba cada URL permitida una vez.",
           "Cada URL permitida se descarga una vez, la pida quien la pida primero.")
    expect(download.max_in_flight == 4,
           f"como mucho {download.max_in_flight} descarga(s) a la vez (tardaste {seg(seconds)}): "
           "las pusiste en fila.",
           "Un Lock que abarca la descarga deja pasar una a la vez; no esperes la red con el lock tomado.")
    expect(sorted(r for r in results if r is not None) == [download.value(u) for u in kept],
           f"los resultados no son los de descargar: {short(sorted(map(str, results)))}",
           "Devuelve lo que devuelve `descargar` a quien la descargó, y None a los demás.")
    return f"4 URLs, 4 descargas, las 4 a la vez ({seg(seconds)})"


@exercise("06.lanzar", "lanzar una tarea sin perderla y sin acumularlas",
          "`tarea = asyncio.create_task(coro)`, `vivas.add(tarea)`, "
          "`tarea.add_done_callback(vivas.discard)`, y devuelve la tarea.")
def check_lanzar(answer):
    expect(callable(answer) and not inspect.iscoroutinefunction(answer),
           "lanzar debe ser una función normal (def, no async def): la llamas sin await.",
           "Dentro de una función normal también puedes llamar a asyncio.create_task.")

    async def waits_on_nobody():
        await asyncio.get_running_loop().create_future()  # nobody else holds it

    def launch(coro, vivas):
        try:
            return answer(coro, vivas)
        except BaseException:
            coro.close()  # never started: no "never awaited" warning
            raise

    def collect() -> None:
        gc.collect(0)  # run_async keeps the collector off: all the run's objects are still young
        excuse_block()  # the checker's collection, not the answer's, held the loop

    async def scenario():
        vivas: set = set()
        done = asyncio.Event()

        async def short_one():
            await done.wait()
            return "hecho"

        # 1. A task nobody else holds survives the collector while it runs.
        ref = weakref.ref(launch(waits_on_nobody(), vivas))  # its frame holds the future, the future the task
        await asyncio.sleep(0)
        collect()
        alive = ref() is not None
        if alive:
            ref().cancel()
        for _ in range(3):
            await asyncio.sleep(0)
        # 2. One task ends while another, held only by `vivas`, still runs: that one survives too.
        task = launch(short_one(), vivas)
        other = weakref.ref(launch(waits_on_nobody(), vivas))
        await asyncio.sleep(0)
        done.set()
        result = await task if isinstance(task, asyncio.Task) else None
        await asyncio.sleep(0)
        collect()
        other_alive = other() is not None
        if other_alive:
            other().cancel()
        for _ in range(3):
            await asyncio.sleep(0)
        return alive, other_alive, task, result, len(vivas)

    loop_messages: list = []

    async def quiet():
        asyncio.get_running_loop().set_exception_handler(lambda _l, ctx: loop_messages.append(ctx["message"]))
        return await scenario()

    alive, other_alive, task, result, left = _run(quiet)
    expect(isinstance(task, asyncio.Task), f"lanzar devolvió {short(task)} en vez de la tarea.",
           "Devuelve lo que te da asyncio.create_task.")
    expect(alive, "la tarea fue destruida mientras corría: nadie guardaba una referencia fuerte.",
           "El bucle solo guarda referencias débiles; agrégala a `vivas`.")
    expect(other_alive, "cuando una tarea terminó, otra que seguía corriendo fue destruida por el recolector: "
           "al terminar, la primera sacó de `vivas` más que a sí misma.",
           "El callback debe quitar solo la tarea que terminó: `add_done_callback(vivas.discard)` "
           "(el callback recibe esa tarea), no `vivas.clear()`.")
    expect(result == "hecho", f"la tarea devolvió {short(result)}.", "Lanza la corrutina que te pasan, tal cual.")
    expect(left == 0, f"al terminar todas, `vivas` todavía tiene {left} tarea(s): el conjunto crece sin fin.",
           "Al terminar, la tarea debe salir de `vivas`: add_done_callback(vivas.discard).")
    return "la tarea sobrevive al recolector y sale del conjunto al terminar"
