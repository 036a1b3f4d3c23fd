"""Checkers of notebook 07 (the asyncio crawler).

* ``07.reintentar``: ``async def descargar(sesion, url, reintentos, espera)``
  retries 503 answers with exponential backoff, and nothing else; still 503
  after the last try, it returns that last ``(503, texto)``.
* ``07.crawler_acotado``: ``async def crawler_acotado(raiz, C)`` crawls a
  whole site once per URL with at most C requests in flight, and faster than
  one page at a time (the statement asks for one task per URL in a TaskGroup
  and a Semaphore; the checker judges the behaviour, not the shape).
* ``07.simular_ideal``: ``simular(grafo, C, L)``, the zero-CPU discrete-event
  simulation of a crawl: when each download ends (a dict), compared with
  :func:`_finish_times`, whose latest instant is :func:`support.measure.simulate.ideal_time`
  (the benchmark's "ideal", which a student could call: it does not give the dict); downloads that end at the same instant deliver
  their links in the order they started (a case below tells the two
  tie-breaks apart).

The async answers run on a fresh loop in a worker thread
(:func:`support.exercises.run_async`) with a time limit, against a local site
started and stopped here; the simulation under
:func:`support.exercises.call_with_limit`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections import deque
from urllib.parse import urlsplit

import aiohttp

from support.exercises import call_with_limit, draw, exercise, expect, limit, require_async, require_sync, run_async, short
from support.fmt import seg
from support.labsite import LabSite, SiteGraph
from support.measure.simulate import ideal_time

# -- 07.reintentar ---------------------------------------------------------------


_WAIT = 0.03  # espera: waits of 0,03, 0,06 and 0,12 s; linear back-off would wait 0,09 s the third time


@exercise("07.reintentar", "reintentas los 503 con espera creciente, y solo esos",
          hint="Un for intento in range(reintentos + 1): pide; si el estado no es 503, devuelve "
               "(estado, texto); si es 503 y quedan intentos, await asyncio.sleep(espera * 2 ** intento).")
def _check_reintentar(descargar) -> str:
    descargar = require_async(descargar, "descargar")
    with LabSite(pages=6, faults={"error503": 1.0}, fault_options={"error503_times": 3}) as site:

        async def trial():
            async with aiohttp.ClientSession() as sesion:
                ok = await asyncio.wait_for(descargar(sesion, site.url_of(1), reintentos=3, espera=_WAIT), 3)
                few = await asyncio.wait_for(descargar(sesion, site.url_of(2), reintentos=1, espera=0.01), 3)
                missing = await asyncio.wait_for(descargar(sesion, site.url + "no/existe", reintentos=3, espera=0.01), 3)
                return ok, few, missing

        ok, few, missing = run_async(trial, limit=limit(2))
        hits = site.stats.by_path
        asked = [t for t, path in site.stats.arrivals if path == "/page/1"]
        expect(few is not None, "si la respuesta sigue siendo 503 después del último reintento, "
               "devuelve ese último (503, texto); devolviste None.",
               "En el último intento devuelve (estado, texto) sea cual sea el estado.")
        for answer in (ok, few, missing):
            expect(isinstance(answer, tuple) and len(answer) == 2,
                   f"descargar tiene que devolver (estado, texto); devolvió {short(answer)}.")
        expect(ok[0] == 200 and "Pagina 1" in str(ok[1]),
               f"una página que contesta 503 tres veces y después 200, con reintentos=3, "
               f"tiene que terminar en 200; devolviste el estado {short(ok[0])}.")
        expect(hits["/page/1"] == 4, f"con tres 503 y reintentos=3 hacen falta 4 peticiones; hiciste {hits['/page/1']}.")
        waits = [b - a for a, b in zip(asked, asked[1:])]
        wanted = [_WAIT * 2 ** i for i in range(len(waits))]
        expect(all(got >= 0.85 * want for got, want in zip(waits, wanted)),
               f"entre intentos el servidor vio esperas de {', '.join(seg(w, 2) for w in waits)}; con espera="
               f"{seg(_WAIT, 2)} la espera exponencial es {', '.join(seg(w, 2) for w in wanted)}.",
               "await asyncio.sleep(espera * 2 ** intento) antes de volver a pedir: se duplica en cada intento.")
        expect(few[0] == 503 and hits["/page/2"] == 2,
               f"con reintentos=1 son 2 peticiones como mucho, y se devuelve el último 503; "
               f"hiciste {hits['/page/2']} y devolviste {short(few[0])}.")
        expect(missing[0] == 404 and hits["/no/existe"] == 1,
               f"un 404 no se reintenta (no va a cambiar): hiciste {hits['/no/existe']} peticiones.")
    return "reintentas solo lo pasajero, con espera exponencial"


# -- 07.crawler_acotado -------------------------------------------------------------

_PAGES, _LATENCY, _C = 24, 0.08, 4  # about _PAGES pages: the count and the links are drawn for each run


@exercise("07.crawler_acotado", "recorres todo el sitio, una vez por URL, con a lo sumo C peticiones en vuelo",
          hint="Una tarea por URL en un solo asyncio.TaskGroup (grupo.create_task por cada enlace nuevo), "
               "un asyncio.Semaphore(C) alrededor de cada descarga y un conjunto de URLs vistas.")
def _check_crawler_acotado(crawler_acotado) -> str:
    crawler_acotado = require_async(crawler_acotado, "crawler_acotado")
    rng = draw("07.crawler_acotado")
    pages = _PAGES + rng.randrange(-4, 5)
    with LabSite(pages=pages, latency=_LATENCY, seed=rng.randrange(10**6)) as site:
        t0 = time.perf_counter()
        found = run_async(crawler_acotado, site.url, _C, limit=limit(2))
        elapsed = time.perf_counter() - t0
        expect(found is not None and not isinstance(found, str),
               "crawler_acotado tiene que devolver el conjunto de URLs rastreadas.")
        found = set(found)
        asked = site.stats.get_by_path
        unasked = sorted(u for u in found & site.all_urls() if asked[urlsplit(u).path] == 0)
        expect(not unasked,
               f"devolviste {len(unasked)} URL(s) que no pediste nunca al servidor "
               f"(por ejemplo {unasked[0] if unasked else ''}): o las inventaste, o tu corrutina volvió "
               "sin esperar a las tareas que las iban a descargar.",
               "Cada URL devuelta sale de una descarga. Crea las tareas con grupo.create_task dentro de un "
               "`async with asyncio.TaskGroup()`: el bloque espera a todas, también a las que nacen mientras espera.")
        missing = site.all_urls() - found
        expect(not missing, f"faltan {len(missing)} de {pages} páginas, por ejemplo {sorted(missing)[:2]}"
                            f" ({sum(1 for u in missing if asked[urlsplit(u).path])} de ellas sí las pediste).",
               "Encola cada enlace nuevo de cada página (follow(extract_links(html), url, raiz)); y espera a "
               "todas las tareas antes de devolver.")
        expect(found <= site.all_urls(), f"devolviste URLs que no son del sitio: {sorted(found - site.all_urls())[:2]}.")
        twice = sorted(p for p, n in site.stats.by_path.items() if n > 1)
        expect(not twice, f"pediste {len(twice)} páginas más de una vez (por ejemplo {twice[0] if twice else ''}).",
               "Guarda las URLs vistas en un conjunto y pregunta antes de encolar (sin await en medio).")
        peak = site.stats.max_in_flight
        expect(peak <= _C, f"el servidor vio {peak} peticiones a la vez con C={_C}.",
               "Pon un asyncio.Semaphore(C) alrededor de cada descarga (async with limite: ...).")
        sequential = pages * _LATENCY
        expect(elapsed < 0.7 * sequential,
               f"tardaste {seg(elapsed)}: casi lo mismo que una página detrás de otra ({seg(sequential)}).",
               "Las descargas tienen que correr a la vez: grupo.create_task para cada URL, no await una por una.")
    return f"{pages} páginas, a lo sumo {peak} en vuelo, en {seg(elapsed)}"


# -- 07.simular_ideal ----------------------------------------------------------------


def _cases():
    cases = []
    for pages, seed, c in ((40, 1, 3), (100, 2, 10), (100, 3, 1000), (60, 4, 1), (1, 0, 5)):
        graph = SiteGraph(pages, seed=seed, links=4)
        cases.append(([list(graph.targets(p)) for p in range(pages)], c, 0.1))
    chain = [[1], [2, 0], [3], [4], [5], [6], [7], [8], [9], []]
    cases.append((chain, 50, 0.5))
    # Two downloads end together and their order decides what starts next: in the order they
    # started, the ideal is 0.6 s; by page number (a heap of (fin, pagina)), 0.5 s.
    tie = SiteGraph(18, seed=260, links=2)
    cases.append(([list(tie.targets(p)) for p in range(18)], 5, 0.1))
    return cases


def _finish_times(graph: list[list[int]], c: int, latency: float) -> dict[int, float]:
    """The reference: when each page's download ends in the ideal crawl. Neither
    :func:`support.measure.simulate.ideal_time` nor ``simulate`` gives this, so
    the exercise is not a call to the benchmark's own code."""
    seen, queue, in_flight, now, order = {0}, deque([0]), [], 0.0, itertools.count()
    finished: dict[int, float] = {}
    while queue or in_flight:
        while queue and len(in_flight) < c:
            heapq.heappush(in_flight, (now + latency, next(order), queue.popleft()))
        now, _, page = heapq.heappop(in_flight)
        finished[page] = now
        for target in graph[page]:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return finished


@exercise("07.simular_ideal", "tu simulación da el instante exacto en que termina cada descarga del ideal",
          hint="Un heap de (fin, orden, página) con las descargas en vuelo (orden: un contador que crece con cada "
               "lanzamiento, para desempatar por quién empezó antes); mientras haya cola y menos de C en vuelo, "
               "lanza (ahora + L); saca la que termina antes, anota `terminadas[pagina] = fin`, avanza el reloj "
               "y encola sus enlaces nuevos.")
def _check_simular_ideal(simular) -> str:
    require_sync(simular, "simular")
    for graph, c, latency in _cases():
        got = call_with_limit(simular, graph, c, latency)
        expect(isinstance(got, dict), f"simular tiene que devolver un dict {{página: instante en que termina su "
                                      f"descarga}}; devolvió {short(got)}.")
        want = _finish_times(graph, c, latency)
        assert math.isclose(max(want.values()), ideal_time(graph, c, latency))  # the benchmark's ideal
        expect(set(got) == set(want),
               f"con {len(graph)} páginas, C={c}: tu dict tiene {len(got)} páginas; se descargan {len(want)} "
               f"(las que se alcanzan desde la 0).", "Anota cada página cuando termina su descarga, y solo esas.")
        wrong = [p for p in want if not (isinstance(got[p], (int, float))
                                         and math.isclose(got[p], want[p], rel_tol=1e-9, abs_tol=1e-9))]
        some = wrong[0] if wrong else None
        expect(not wrong,
               f"con {len(graph)} páginas, C={c} y L={seg(latency, 2)}: {len(wrong)} instante(s) no coinciden, por "
               f"ejemplo la página {some}: tu simulación da {short(got.get(some))}, el ideal "
               f"{seg(want.get(some, 0), 3)}; la última termina en {seg(max(want.values()), 3)}.")
    return "la misma simulación que usa el benchmark como ideal, descarga por descarga"
