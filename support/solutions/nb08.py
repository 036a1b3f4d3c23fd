"""Reference solutions of notebook 08's exercises, and typical wrong answers.

Teachers: each solution is the shortest idiomatic one; the wrong answers are
the mistakes students actually make (and that the checkers must reject).
"""

from __future__ import annotations

import asyncio

from support.c10k import count_links

# --- 08.elegir ------------------------------------------------------------------


def elegir(escenario):
    if "bloqueante" in escenario:
        return "hilos"
    if "contar" in escenario or "comprimir" in escenario:
        return "procesos"
    return "corrutinas"


def _todo_corrutinas(escenario):
    """Coroutines everywhere, even for CPU work and blocking libraries."""
    return "corrutinas"


def _cpu_en_hilos(escenario):
    """Forgets the GIL: CPU-bound work in threads."""
    if "bloqueante" in escenario or "contar" in escenario or "comprimir" in escenario:
        return "hilos"
    return "corrutinas"


def _bloqueante_en_corrutinas(escenario):
    """A blocking library called from coroutines freezes the loop."""
    return "procesos" if "contar" in escenario or "comprimir" in escenario else "corrutinas"


# --- 08.contar_en_procesos --------------------------------------------------------


async def contar_en_procesos(paginas, pool):
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(loop.run_in_executor(pool, count_links, html) for html in paginas))


async def _en_el_bucle(paginas, pool):
    """Never uses the pool: the CPU work blocks the loop."""
    return [count_links(html) for html in paginas]


async def _de_a_una(paginas, pool):
    """Uses the pool, but awaits each page before sending the next."""
    loop = asyncio.get_running_loop()
    return [await loop.run_in_executor(pool, count_links, html) for html in paginas]


async def _con_lambda(paginas, pool):
    """A lambda cannot be sent to another process."""
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(loop.run_in_executor(pool, lambda h=html: count_links(h)) for html in paginas))


async def _pool_por_defecto(paginas, pool):
    """run_in_executor(None, ...) uses the default thread pool, not the one given."""
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(loop.run_in_executor(None, count_links, html) for html in paginas))


WRONG_ANSWERS = {
    "08.elegir": [_todo_corrutinas, _cpu_en_hilos, _bloqueante_en_corrutinas],
    "08.contar_en_procesos": [_en_el_bucle, _de_a_una, _con_lambda, _pool_por_defecto],
}
