"""Checkers of notebook 05 (async/await y asyncio).

Every exercise asks for an ``async def`` that receives a coroutine function
(``obtener``, ``fn``) and decides *how* to await it: all at once, with a time
limit, or with at most N at a time. The checkers pass fake coroutine functions
that sleep with ``asyncio.sleep`` and count how many calls are in flight, so
the verdict rests on what the student's code did (how many calls overlapped,
whether the slow one was cancelled, the order of the results), not on a wall
clock alone.

Discussion: inside the notebook the kernel's event loop is already running,
so the student's coroutine runs on a fresh loop in a worker thread
(:func:`support.exercises.run_async`): one that never finishes is stopped
after :data:`LIMIT` seconds, and one that blocks the loop (``time.sleep``)
is told so, instead of hanging the checker.
"""

from __future__ import annotations

import time

from support.checks.common import Probe, expect_results
from support.exercises import Incorrect, exercise, expect, require_async, run_async, short
from support.fmt import seg

_HANG_HINT = "¿Esperas algo que nunca llega, o un bucle sin salida?"


# --------------------------------------------------------------------------


@exercise("05.descargar_todas", "descargar todas las URLs a la vez, resultados en orden",
          "Crea todas las corrutinas primero y espéralas juntas: `await asyncio.gather(*...)`.")
def check_descargar_todas(answer):
    answer = require_async(answer, "descargar_todas")
    urls = [f"/page/{i}" for i in range(8)]
    # The first URLs are the slowest: results in completion order would come reversed.
    probe = Probe({u: 0.02 + 0.01 * (len(urls) - i) for i, u in enumerate(urls)})

    async def scenario():
        start = time.perf_counter()
        result = await answer(probe, urls)
        return result, time.perf_counter() - start

    result, seconds = run_async(scenario, hint=_HANG_HINT)
    expect(probe.calls == len(urls), f"llamaste a obtener {probe.calls} veces para {len(urls)} URLs.",
           "Llama a obtener(url) una vez por URL.")
    expect(probe.max_in_flight == len(urls),
           f"como mucho {probe.max_in_flight} descarga(s) a la vez; tenían que ir las {len(urls)} juntas "
           f"(tardaste {seg(seconds)}).",
           "`await` dentro del `for` espera cada tarea antes de crear la siguiente: "
           "crea todas y espéralas juntas con gather.")
    expect_results(result, [probe.value(u) for u in urls], "las URLs",
                   "gather devuelve los resultados en el orden en que le pasas las corrutinas; "
                   "as_completed los da en orden de llegada.")
    return f"las {len(urls)} descargas fueron a la vez ({seg(seconds)}) y los resultados están en orden"


@exercise("05.obtener_o_none", "una descarga lenta con límite de tiempo devuelve None",
          "Envuelve el await en `async with asyncio.timeout(segundos):` (o usa asyncio.wait_for) "
          "y captura TimeoutError.")
def check_obtener_o_none(answer):
    answer = require_async(answer, "obtener_o_none")
    probe = Probe({"/rapida": 0.01, "/lenta": 1.0})

    async def scenario():
        fast = await answer(probe, "/rapida", 0.5)
        start = time.perf_counter()
        slow = await answer(probe, "/lenta", 0.1)
        seconds = time.perf_counter() - start
        cancelled = "/lenta" in probe.cancelled  # looked at right away, before the loop closes
        return fast, slow, seconds, cancelled

    try:
        fast, slow, seconds, cancelled = run_async(scenario, hint=_HANG_HINT)
    except TimeoutError:
        raise Incorrect("se te escapó un TimeoutError: la descarga lenta tenía que devolver None.",
                        "Rodea el `async with asyncio.timeout(...)` con try/except TimeoutError.") from None
    expect(fast == probe.value("/rapida"),
           f"una descarga rápida devolvió {short(fast)} en vez de su resultado {probe.value('/rapida')!r}.",
           "Si obtener termina a tiempo, devuelve lo que devolvió.")
    expect(seconds < 0.6, f"la descarga lenta tardó {seg(seconds)} con un límite de 0,1 s.",
           "Sin tiempo límite, `await obtener(url)` espera lo que haga falta.")
    expect(slow is None, f"la descarga lenta devolvió {short(slow)} en vez de None.",
           "Captura TimeoutError y devuelve None.")
    expect(cancelled, "devolviste None a tiempo, pero la descarga lenta siguió corriendo: nadie la canceló.",
           "asyncio.wait(..., timeout=...) no cancela lo que queda pendiente; "
           "asyncio.timeout y wait_for sí.")
    return f"la lenta devolvió None en {seg(seconds)} y quedó cancelada"


@exercise("05.mapa_acotado", "aplicar una corrutina a muchos elementos, como mucho N a la vez",
          "Un único asyncio.Semaphore(limite) compartido, y dentro de cada tarea `async with semaforo:`.")
def check_mapa_acotado(answer):
    answer = require_async(answer, "mapa_acotado")
    cases = [(12, 3), (4, 10), (5, 1)]
    for n, limit in cases:
        items = [f"x{i}" for i in range(n)]
        probe = Probe({x: 0.01 + 0.005 * (i % 3) for i, x in enumerate(items)})

        async def scenario(probe=probe, items=items, limit=limit):  # this case's values
            return await answer(probe, items, limit)

        result = run_async(scenario, hint=_HANG_HINT)
        expected = min(n, limit)
        expect(probe.calls == n, f"con {n} elementos llamaste a fn {probe.calls} veces.",
               "Llama a fn(x) una vez por elemento.")
        expect(probe.max_in_flight <= limit,
               f"con limite={limit} hubo {probe.max_in_flight} llamadas a la vez.",
               "Usa un asyncio.Semaphore(limite), y que sea UNO compartido: si cada tarea crea el suyo, no limita nada.")
        expect(probe.max_in_flight == expected,
               f"con {n} elementos y limite={limit} hubo como mucho {probe.max_in_flight} llamada(s) "
               f"a la vez; se podían {expected}.",
               "Crea todas las tareas a la vez (gather) y deja que el semáforo las frene.")
        expect_results(result, [probe.value(x) for x in items], "los elementos",
                   "Devuelve lo que da gather: respeta el orden de entrada.")
    # One slow item first: while it holds one slot, the others must flow through the rest.
    items = [f"x{i}" for i in range(12)]
    probe = Probe({x: 0.3 if i == 0 else 0.01 for i, x in enumerate(items)})

    async def slow_first():
        return await answer(probe, items, 3)

    run_async(slow_first, hint=_HANG_HINT)
    expect(probe.finished[-1] == "x0",
           f"con un elemento lento, {len(items) - 1 - probe.finished.index('x0')} de los rápidos esperaron "
           "a que terminara: trabajas por lotes.",
           "Con lotes de `limite`, cada lote espera al más lento. Con un semáforo, en cuanto "
           "una llamada termina entra la siguiente.")
    return "nunca más de `limite` a la vez, y siempre tantas como se podía"
