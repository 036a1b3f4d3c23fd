"""Reference solutions of notebook 07, and typical wrong answers the checkers reject."""

from __future__ import annotations

import asyncio
import heapq
import math
from collections import deque

import aiohttp

from support.links import extract_links, follow


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


async def _sin_espera(sesion, url, reintentos=2, espera=0.05):
    for intento in range(reintentos + 1):  # asks again at once: no backoff
        async with sesion.get(url) as resp:
            estado, texto = resp.status, await resp.text()
        if estado != 503 or intento == reintentos:
            return estado, texto


# -- 07.crawler_acotado -------------------------------------------------------------

async def crawler_acotado(raiz, C):
    cola, vistos = asyncio.Queue(), {raiz}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=C)) as sesion:

        async def trabajador():
            while True:
                url = await cola.get()
                try:
                    async with sesion.get(url) as resp:
                        html = await resp.text()
                    for enlace in follow(extract_links(html), url, raiz):
                        if enlace not in vistos:
                            vistos.add(enlace)
                            cola.put_nowait(enlace)
                finally:
                    cola.task_done()

        cola.put_nowait(raiz)
        trabajadores = [asyncio.create_task(trabajador()) for _ in range(C)]
        try:
            await cola.join()
        finally:
            for t in trabajadores:
                t.cancel()
            await asyncio.gather(*trabajadores, return_exceptions=True)
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
    vistos, cola, en_vuelo, ahora = {0}, deque([0]), [], 0.0
    while cola or en_vuelo:
        while cola and len(en_vuelo) < C:
            p = cola.popleft()
            heapq.heappush(en_vuelo, (ahora + L, p))
        ahora, p = heapq.heappop(en_vuelo)
        for q in grafo[p]:
            if q not in vistos:
                vistos.add(q)
                cola.append(q)
    return ahora


def _cota_inferior(grafo, C, L):
    """The notebook's lower bound, not the simulation."""
    return math.ceil(len(grafo) / C) * L


def _por_niveles(grafo, C, L):
    """Waits for a whole level before starting the next one: slower than the ideal."""
    vistos, nivel, total = {0}, [0], 0.0
    while nivel:
        total += math.ceil(len(nivel) / C) * L
        siguiente = []
        for p in nivel:
            for q in grafo[p]:
                if q not in vistos:
                    vistos.add(q)
                    siguiente.append(q)
        nivel = siguiente
    return total


WRONG_ANSWERS = {
    "07.reintentar": [_sin_reintentos, _reintenta_todo, _sin_espera],
    "07.crawler_acotado": [_secuencial, _sin_limite, _sin_vistos_compartidos],
    "07.simular_ideal": [_cota_inferior, _por_niveles],
}
