"""Reference solutions of notebook 09's exercises, and typical wrong answers.

Teachers: each solution is the shortest idiomatic one; the wrong answers are
the mistakes students actually make (and that the checkers must reject).
"""

from __future__ import annotations

import asyncio

from support import servers

# --- 09.enviar_todo ----------------------------------------------------------


async def enviar_todo(escritor, trozos):
    for trozo in trozos:
        escritor.write(trozo)
        await escritor.drain()


async def _sleep0_en_vez_de_drain(escritor, trozos):
    # Gives the loop a turn after each write, but does not wait for the buffer to empty.
    for trozo in trozos:
        escritor.write(trozo)
        await asyncio.sleep(0)


async def _sin_drain(escritor, trozos):
    for trozo in trozos:
        escritor.write(trozo)


async def _drain_al_final(escritor, trozos):
    """Waits, but only once everything is already in the buffer."""
    escritor.writelines(trozos)
    await escritor.drain()


# --- 09.calcular_sin_congelar ------------------------------------------------


async def calcular_sin_congelar(n, pool):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, servers.answer, "cpu", n)


async def _en_el_bucle(n, pool):
    return servers.answer("cpu", n)


async def _otro_pool(n, pool):
    """Frees the loop, but in the default thread pool instead of the one given."""
    return await asyncio.to_thread(servers.answer, "cpu", n)


async def _result_bloquea(n, pool):
    """Uses the pool, then blocks the loop waiting for the result."""
    return pool.submit(servers.answer, "cpu", n).result()


# --- 09.leer_con_limite ------------------------------------------------------


async def leer_con_limite(lector, segundos):
    try:
        async with asyncio.timeout(segundos):
            return await lector.readuntil(servers.END)
    except (TimeoutError, asyncio.IncompleteReadError):
        return None


async def _sin_limite(lector, segundos):
    try:
        return await lector.readuntil(servers.END)
    except asyncio.IncompleteReadError:
        return None


async def _un_solo_read(lector, segundos):
    """One read: whatever arrived first, maybe half a request."""
    try:
        async with asyncio.timeout(segundos):
            return await lector.read(4096) or None
    except TimeoutError:
        return None


async def _sin_capturar_cierre(lector, segundos):
    """Times out, but a client that closes mid-request raises IncompleteReadError."""
    try:
        async with asyncio.timeout(segundos):
            return await lector.readuntil(servers.END)
    except TimeoutError:
        return None


async def _sin_await(n, pool):
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(pool, servers.answer, "cpu", n)  # the missing await is the mistake


async def _gira_en_el_cierre(lector, segundos):
    """Reads piece by piece; on b"" (the client closed) it spins until the deadline (issue 21)."""
    datos = b""
    limite = asyncio.get_running_loop().time() + segundos
    while asyncio.get_running_loop().time() < limite:
        try:
            async with asyncio.timeout(limite - asyncio.get_running_loop().time()):
                datos += await lector.read(100)
        except TimeoutError:
            return None
        if servers.END in datos:
            return datos
        await asyncio.sleep(0)
    return None

WRONG_ANSWERS = {
    "09.enviar_todo": [_sin_drain, _drain_al_final, (_sleep0_en_vez_de_drain, "llenó la memoria")],
    "09.calcular_sin_congelar": [(_en_el_bucle, "bloqueó el bucle"), _otro_pool, (_result_bloquea, "bucle"),
                                 (_sin_await, "falta `await`")],
    "09.leer_con_limite": [_sin_limite, _un_solo_read, _sin_capturar_cierre, (_gira_en_el_cierre, "cerró")],
}
