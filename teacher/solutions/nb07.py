"""Reference solutions of notebook 07, and typical wrong answers the checkers reject."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections import deque

import aiohttp

from support.web.links import extract_links, follow

# -- 07.reintentar ---------------------------------------------------------------

async def reintentar(sesion, url, reintentos=2, espera=0.05):
    for intento in range(reintentos + 1):
        async with sesion.get(url) as resp:
            estado, texto = resp.status, await resp.text()
        if estado != 503 or intento == reintentos:
            return estado, texto
        await asyncio.sleep(espera * 2 ** intento)


async def _sin_reintentos(sesion, url, reintentos=2, espera=0.05):
    async with sesion.get(url) as resp:
        return resp.status, await resp.text()


async def _reintenta_todo(sesion, url, reintentos=2, espera=0.05):
    for intento in range(reintentos + 1):  # also retries a 404
        async with sesion.get(url) as resp:
            estado, texto = resp.status, await resp.text()
        if estado == 200 or intento == reintentos:
            return estado, texto
        await asyncio.sleep(espera * 2 ** intento)


async def _nada_tras_el_ultimo(sesion, url, reintentos=2, espera=0.05):
    for intento in range(reintentos + 1):  # still 503 after the last try: returns None
        async with sesion.get(url) as resp:
            estado, texto = resp.status, await resp.text()
        if estado != 503:
            return estado, texto
        if intento < reintentos:
            await asyncio.sleep(espera * 2 ** intento)
    return None


async def _sin_espera(sesion, url, reintentos=2, espera=0.05):
    for intento in range(reintentos + 1):  # asks again at once: no backoff
        async with sesion.get(url) as resp:
            estado, texto = resp.status, await resp.text()
        if estado != 503 or intento == reintentos:
            return estado, texto


# -- 07.crawler_acotado -------------------------------------------------------------

async def crawler_acotado(raiz, C):
    """One task per URL in one TaskGroup (which also waits for the tasks created while it waits)."""
    vistos, limite = {raiz}, asyncio.Semaphore(C)
    async with aiohttp.ClientSession() as sesion:

        async def visitar(url, grupo):
            async with limite:                      # at most C downloads at once
                async with sesion.get(url) as resp:
                    html = await resp.text()
            for enlace in follow(extract_links(html), url, raiz):
                if enlace not in vistos:            # no await between the check and the add
                    vistos.add(enlace)
                    grupo.create_task(visitar(enlace, grupo))

        async with asyncio.TaskGroup() as grupo:
            grupo.create_task(visitar(raiz, grupo))
    return vistos


async def _secuencial(raiz, C):
    """The lecture's loop: one page after another (C is ignored)."""
    vistos, pendientes = {raiz}, [raiz]
    async with aiohttp.ClientSession() as sesion:
        while pendientes:
            url = pendientes.pop()
            async with sesion.get(url) as resp:
                html = await resp.text()
            for enlace in follow(extract_links(html), url, raiz):
                if enlace not in vistos:
                    vistos.add(enlace)
                    pendientes.append(enlace)
    return vistos


async def _sin_limite(raiz, C):
    """Level by level with gather: every URL of a level in flight at once (C is ignored)."""
    vistos, nivel = {raiz}, [raiz]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as sesion:

        async def bajar(url):
            async with sesion.get(url) as resp:
                return url, await resp.text()

        while nivel:
            siguiente = []
            for url, html in await asyncio.gather(*(bajar(u) for u in nivel)):
                for enlace in follow(extract_links(html), url, raiz):
                    if enlace not in vistos:
                        vistos.add(enlace)
                        siguiente.append(enlace)
            nivel = siguiente
    return vistos


async def _sin_vistos_compartidos(raiz, C):
    """Marks a URL as seen only once it is fetched: pages queued twice are fetched twice."""
    cola, hechas = asyncio.Queue(), set()
    sem = asyncio.Semaphore(C)
    async with aiohttp.ClientSession() as sesion:

        async def trabajador():
            while True:
                url = await cola.get()
                try:
                    if url in hechas:
                        continue
                    async with sem, sesion.get(url) as resp:
                        html = await resp.text()
                    hechas.add(url)
                    for enlace in follow(extract_links(html), url, raiz):
                        if enlace not in hechas:
                            cola.put_nowait(enlace)
                finally:
                    cola.task_done()

        cola.put_nowait(raiz)
        tareas = [asyncio.create_task(trabajador()) for _ in range(C)]
        await cola.join()
        for t in tareas:
            t.cancel()
        await asyncio.gather(*tareas, return_exceptions=True)
    return hechas


# -- 07.simular_ideal ----------------------------------------------------------------

def simular_ideal(grafo, C, L):
    vistos, cola, en_vuelo, ahora, orden = {0}, deque([0]), [], 0.0, itertools.count()
    terminadas = {}
    while cola or en_vuelo:
        while cola and len(en_vuelo) < C:
            heapq.heappush(en_vuelo, (ahora + L, next(orden), cola.popleft()))
        ahora, _, p = heapq.heappop(en_vuelo)
        terminadas[p] = ahora
        for q in grafo[p]:
            if q not in vistos:
                vistos.add(q)
                cola.append(q)
    return terminadas


def _desempate_por_pagina(grafo, C, L):
    """Ties broken by page number, not by start order: the heap holds (fin, pagina)."""
    vistos, cola, en_vuelo, ahora, terminadas = {0}, deque([0]), [], 0.0, {}
    while cola or en_vuelo:
        while cola and len(en_vuelo) < C:
            p = cola.popleft()
            heapq.heappush(en_vuelo, (ahora + L, p))
        ahora, p = heapq.heappop(en_vuelo)
        terminadas[p] = ahora
        for q in grafo[p]:
            if q not in vistos:
                vistos.add(q)
                cola.append(q)
    return terminadas


def _cota_inferior(grafo, C, L):
    """The notebook's lower bound, as if every page were known from the start."""
    return {p: math.ceil((p + 1) / C) * L for p in range(len(grafo))}


def _por_niveles(grafo, C, L):
    """Waits for a whole level before starting the next one: slower than the ideal."""
    vistos, nivel, ahora, terminadas = {0}, [0], 0.0, {}
    while nivel:
        for i, p in enumerate(nivel):
            terminadas[p] = ahora + (i // C + 1) * L
        ahora += math.ceil(len(nivel) / C) * L
        siguiente = []
        for p in nivel:
            for q in grafo[p]:
                if q not in vistos:
                    vistos.add(q)
                    siguiente.append(q)
        nivel = siguiente
    return terminadas


def _solo_el_final(grafo, C, L):
    """The benchmark's number alone, not when each download ends."""
    return max(simular_ideal(grafo, C, L).values())


async def _sleep_bloqueante(sesion, url, reintentos=2, espera=0.05):
    for intento in range(reintentos + 1):  # time.sleep: the loop stops between tries (issue 21)
        async with sesion.get(url) as resp:
            estado, texto = resp.status, await resp.text()
        if estado != 503 or intento == reintentos:
            return estado, texto
        time.sleep(espera * 2 ** intento)


async def _espera_lineal(sesion, url, reintentos=2, espera=0.05):
    for intento in range(reintentos + 1):  # espera, 2*espera, 3*espera...: same as 2**i for two tries
        async with sesion.get(url) as resp:
            estado, texto = resp.status, await resp.text()
        if estado != 503 or intento == reintentos:
            return estado, texto
        await asyncio.sleep(espera * (intento + 1))


async def _tareas_sueltas(raiz, C):
    """Loose create_task children nobody awaits: the crawl returns after the root's links."""
    vistos, limite = {raiz}, asyncio.Semaphore(C)
    async with aiohttp.ClientSession() as sesion:

        async def visitar(url):
            async with limite:
                async with sesion.get(url) as resp:
                    html = await resp.text()
            for enlace in follow(extract_links(html), url, raiz):
                if enlace not in vistos:
                    vistos.add(enlace)
                    asyncio.create_task(visitar(enlace))

        await visitar(raiz)
        await asyncio.sleep(0.1)
    return vistos


async def _inventa_el_sitio(raiz, C):
    """A cheat: the site's URLs made up from the checker's page count, no request."""
    from support.checks import nb07
    return {raiz} | {f"{raiz}page/{i}" for i in range(1, nb07._PAGES)}

WRONG_ANSWERS = {
    "07.reintentar": [_sin_reintentos, _reintenta_todo, _sin_espera, _nada_tras_el_ultimo,
                      (_sleep_bloqueante, "`time.sleep`"), (_espera_lineal, "exponencial")],
    "07.crawler_acotado": [_secuencial, _sin_limite, _sin_vistos_compartidos, (_tareas_sueltas, "sin esperar"),
                           (_inventa_el_sitio, "no pediste")],
    "07.simular_ideal": [_solo_el_final, _cota_inferior, _por_niveles, _desempate_por_pagina],
}
