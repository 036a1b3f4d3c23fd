"""Reference solutions of notebook 06's exercises, and typical wrong answers.

Teachers: each solution is the shortest idiomatic one; the wrong answers are
the mistakes of the notebook (orphans, a swallowed cancellation, a race across
an await, a lock held across the network, a task created and dropped). A
solution and its wrong variants are deliberate near-twins.
"""

from __future__ import annotations

import asyncio
import time
import weakref

# --- 06.todas_o_ninguna -------------------------------------------------------


async def todas_o_ninguna(obtener, urls):
    async with asyncio.TaskGroup() as grupo:
        tareas = [grupo.create_task(obtener(url)) for url in urls]
    return [t.result() for t in tareas]


async def _con_gather(obtener, urls):
    """Orphans: gather does not cancel the siblings of a failed call."""
    return await asyncio.gather(*(obtener(url) for url in urls))


async def _en_serie(obtener, urls):
    """One after the other: nothing is orphaned, and nothing is concurrent."""
    return [await obtener(url) for url in urls]


# --- 06.con_reintentos --------------------------------------------------------


async def con_reintentos(obtener, url, intentos):
    for intento in range(intentos):
        try:
            return await obtener(url)
        except Exception:
            if intento == intentos - 1:
                raise


async def _traga_la_cancelacion(obtener, url, intentos):
    """A bare except: CancelledError counts as one more failure."""
    for intento in range(intentos):
        try:
            return await obtener(url)
        except:  # noqa: E722 - the mistake this exercise is about
            if intento == intentos - 1:
                raise


async def _base_exception(obtener, url, intentos):
    """`except BaseException` swallows the cancellation just the same."""
    for intento in range(intentos):
        try:
            return await obtener(url)
        except BaseException:
            if intento == intentos - 1:
                raise


async def _sin_reintentos(obtener, url, intentos):
    return await obtener(url)


# --- 06.visitar_una_vez -------------------------------------------------------


async def visitar_una_vez(url, vistas, permitida, descargar):
    if url in vistas:
        return None
    vistas.add(url)                     # marcar antes del primer await
    if not await permitida(url):
        return None
    return await descargar(url)


async def _await_en_medio(url, vistas, permitida, descargar):
    """The race: an await between "seen?" and "mark it"."""
    if url in vistas or not await permitida(url):
        return None
    vistas.add(url)
    return await descargar(url)


_candados: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one lock per event loop


async def _lock_sobre_la_descarga(url, vistas, permitida, descargar):
    """No race, but the lock is held across the download: one at a time."""
    candado = _candados.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with candado:
        if url in vistas or not await permitida(url):
            return None
        vistas.add(url)
        return await descargar(url)


# --- 06.lanzar ----------------------------------------------------------------


def lanzar(coro, vivas):
    tarea = asyncio.create_task(coro)
    vivas.add(tarea)
    tarea.add_done_callback(vivas.discard)
    return tarea


def _creada_y_soltada(coro, vivas):
    """Fire and forget: the loop holds only a weak reference."""
    return asyncio.create_task(coro)


def _nunca_sale(coro, vivas):
    """Kept alive, but never removed: `vivas` grows forever."""
    tarea = asyncio.create_task(coro)
    vivas.add(tarea)
    return tarea


def _vacia_el_conjunto(coro, vivas):
    """The first task to finish drops every other reference (issue 21)."""
    tarea = asyncio.create_task(coro)
    vivas.add(tarea)
    tarea.add_done_callback(lambda _: vivas.clear())
    return tarea


# --- issue 21 -----------------------------------------------------------------


async def _name_error_en_el_grupo(obtener, urls):
    async with asyncio.TaskGroup() as grupo:
        tareas = [grupo.create_task(obtener(url)) for url in urls]
        grupo.create_task(obtner(urls[0]))  # noqa: F821 - the typo is the mistake
    return [t.result() for t in tareas]


async def _sleep_entre_reintentos(obtener, url, intentos):
    for intento in range(intentos):
        try:
            return await obtener(url)
        except Exception:
            if intento == intentos - 1:
                raise
            time.sleep(0.05)  # short, and still a blocked loop

WRONG_ANSWERS = {
    "06.todas_o_ninguna": [_con_gather, _en_serie, (_name_error_en_el_grupo, "NameError")],
    "06.con_reintentos": [_traga_la_cancelacion, _base_exception, _sin_reintentos,
                          (_sleep_entre_reintentos, "`time.sleep`")],
    "06.visitar_una_vez": [_await_en_medio, _lock_sobre_la_descarga],
    "06.lanzar": [_creada_y_soltada, _nunca_sale, _vacia_el_conjunto],
}
