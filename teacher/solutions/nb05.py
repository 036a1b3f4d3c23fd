"""Reference solutions of notebook 05's exercises, and typical wrong answers.

Teachers: each solution is the shortest idiomatic one; the wrong answers are
the mistakes students actually make (and that the checkers must reject).
"""

from __future__ import annotations

import asyncio
import time

# --- 05.descargar_todas -------------------------------------------------------


async def descargar_todas(obtener, urls):
    return await asyncio.gather(*(obtener(url) for url in urls))


async def _todas_en_serie(obtener, urls):
    """The lecture's bug: a task created and awaited inside the loop."""
    resultados = []
    for url in urls:
        tarea = asyncio.create_task(obtener(url))
        resultados.append(await tarea)
    return resultados


async def _todas_en_orden_de_llegada(obtener, urls):
    """Concurrent, but results in completion order."""
    return [await f for f in asyncio.as_completed([obtener(url) for url in urls])]


# --- 05.obtener_o_none --------------------------------------------------------


async def obtener_o_none(obtener, url, segundos):
    try:
        async with asyncio.timeout(segundos):
            return await obtener(url)
    except TimeoutError:
        return None


async def _sin_timeout(obtener, url, segundos):
    return await obtener(url)


async def _wait_sin_cancelar(obtener, url, segundos):
    """Returns in time, but leaves the slow download running."""
    tarea = asyncio.create_task(obtener(url))
    hechas, _pendientes = await asyncio.wait({tarea}, timeout=segundos)
    return tarea.result() if hechas else None


async def _sin_capturar(obtener, url, segundos):
    """Times out, but lets TimeoutError escape instead of returning None."""
    return await asyncio.wait_for(obtener(url), timeout=segundos)


# --- 05.mapa_acotado ----------------------------------------------------------


async def mapa_acotado(fn, elementos, limite):
    semaforo = asyncio.Semaphore(limite)

    async def uno(x):
        async with semaforo:
            return await fn(x)

    return await asyncio.gather(*(uno(x) for x in elementos))


async def _sin_limite(fn, elementos, limite):
    return await asyncio.gather(*(fn(x) for x in elementos))


async def _semaforo_por_tarea(fn, elementos, limite):
    """One semaphore per task: each task has its own, so nothing is limited."""
    async def uno(x):
        async with asyncio.Semaphore(limite):
            return await fn(x)

    return await asyncio.gather(*(uno(x) for x in elementos))


async def _de_a_uno(fn, elementos, limite):
    return [await fn(x) for x in elementos]


async def _por_lotes(fn, elementos, limite):
    """Batches of `limite`: never more than the limit, but each batch waits for its slowest."""
    resultados = []
    for i in range(0, len(elementos), limite):
        resultados += await asyncio.gather(*(fn(x) for x in elementos[i:i + limite]))
    return resultados


# --- issue 21: mistakes that passed, verdicts that misled -------------------


async def _gather_sin_await(obtener, urls):
    return asyncio.gather(*(obtener(url) for url in urls))  # the missing await is the mistake


async def _lista_de_corrutinas(obtener, urls):
    return [obtener(url) for url in urls]


async def _sleep_antes_de_gather(obtener, urls):
    time.sleep(0.05)  # short, and still a blocked loop
    return await asyncio.gather(*(obtener(url) for url in urls))


async def _sleep_en_el_bucle(obtener, urls):
    tareas = []
    for url in urls:
        tareas.append(asyncio.create_task(obtener(url)))
        time.sleep(0.5)
    return [await t for t in tareas]


async def _inventa_los_resultados(obtener, urls):
    # A cheat: calls obtener for show, returns what it guesses obtener would return.
    await asyncio.gather(*(obtener(url) for url in urls))
    return [url.upper() for url in urls]

WRONG_ANSWERS = {
    "05.descargar_todas": [_todas_en_serie, _todas_en_orden_de_llegada, (_gather_sin_await, "falta `await`"),
                           (_lista_de_corrutinas, "falta `await`"), (_sleep_antes_de_gather, "`time.sleep`"),
                           (_sleep_en_el_bucle, "`time.sleep`"), (_inventa_los_resultados, "no son los que")],
    "05.obtener_o_none": [_sin_timeout, _wait_sin_cancelar, _sin_capturar],
    "05.mapa_acotado": [_sin_limite, _semaforo_por_tarea, _de_a_uno, _por_lotes],
}
