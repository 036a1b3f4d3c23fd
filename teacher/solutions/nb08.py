"""Reference solutions of notebook 08's exercises, and typical wrong answers.

Teachers: each solution is the shortest idiomatic one; the wrong answers are
the mistakes students actually make (and that the checkers must reject).
"""

from __future__ import annotations

import asyncio

from support.measure.c10k import count_links, count_links_many

# --- 08.elegir ------------------------------------------------------------------

#: The answer key of 08.elegir: scenario -> (right choice, why). The checker
#: holds only fingerprints of the right choices (support.checks.nb08.answer_digest).
ANSWER_KEY = {
    "descargar 50.000 páginas de un sitio lento": (
        "corrutinas", "casi todo el tiempo se espera a la red: miles de esperas baratas a la vez"),
    "mantener abiertos 10.000 WebSockets que casi nunca envían nada": (
        "corrutinas", "es el problema C10K: una Task por conexión pesa unos pocos KiB"),
    "contar los enlaces de 2.000 páginas ya descargadas": (
        "procesos", "es CPU pura: con el GIL, solo otros procesos usan los otros núcleos"),
    "comprimir 200 archivos grandes con una función de Python puro": (
        "procesos", "es CPU pura en Python: en hilos se turnarían el GIL"),
    "hacer 20 consultas a la vez con una biblioteca que solo tiene API bloqueante": (
        "hilos", "una llamada bloqueante dentro de una corrutina congela el bucle; "
                 "en un hilo (run_in_executor) espera sin molestar, y 20 hilos son baratos"),
}


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


# --- 08.contar_por_lotes ---------------------------------------------------------


async def contar_por_lotes(paginas, pool, lote):
    loop = asyncio.get_running_loop()
    lotes = [paginas[i:i + lote] for i in range(0, len(paginas), lote)]
    cuentas = await asyncio.gather(*(loop.run_in_executor(pool, count_links_many, uno) for uno in lotes))
    return [n for cuentas_del_lote in cuentas for n in cuentas_del_lote]


async def _una_por_pagina(paginas, pool, lote):
    """Ignores the batches: one task per page, as in the measurement cell."""
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(loop.run_in_executor(pool, count_links, html) for html in paginas))


async def _sin_el_ultimo_lote(paginas, pool, lote):
    """Loses the short last batch (len // lote batches)."""
    loop = asyncio.get_running_loop()
    lotes = [paginas[i * lote:(i + 1) * lote] for i in range(len(paginas) // lote)]
    cuentas = await asyncio.gather(*(loop.run_in_executor(pool, count_links_many, uno) for uno in lotes))
    return [n for c in cuentas for n in c]


async def _sin_aplanar(paginas, pool, lote):
    """Returns one list per batch instead of one list of counts."""
    loop = asyncio.get_running_loop()
    lotes = [paginas[i:i + lote] for i in range(0, len(paginas), lote)]
    return await asyncio.gather(*(loop.run_in_executor(pool, count_links_many, uno) for uno in lotes))


async def _lote_a_lote(paginas, pool, lote):
    """Batches, but awaits each one before sending the next."""
    loop = asyncio.get_running_loop()
    cuentas = []
    for i in range(0, len(paginas), lote):
        cuentas += await loop.run_in_executor(pool, count_links_many, paginas[i:i + lote])
    return cuentas


async def _con_lambda(paginas, pool, lote):
    """A lambda cannot be sent to another process."""
    loop = asyncio.get_running_loop()
    lotes = [paginas[i:i + lote] for i in range(0, len(paginas), lote)]
    cuentas = await asyncio.gather(*(loop.run_in_executor(pool, lambda u=uno: count_links_many(u)) for uno in lotes))
    return [n for c in cuentas for n in c]


async def _pool_por_defecto(paginas, pool, lote):
    """run_in_executor(None, ...) uses the default thread pool, not the one given."""
    loop = asyncio.get_running_loop()
    lotes = [paginas[i:i + lote] for i in range(0, len(paginas), lote)]
    cuentas = await asyncio.gather(*(loop.run_in_executor(None, count_links_many, uno) for uno in lotes))
    return [n for c in cuentas for n in c]


WRONG_ANSWERS = {
    "08.elegir": [_todo_corrutinas, _cpu_en_hilos, _bloqueante_en_corrutinas],
    "08.contar_por_lotes": [_una_por_pagina, _sin_el_ultimo_lote, _sin_aplanar, _lote_a_lote, _con_lambda,
                            _pool_por_defecto],
}
