"""Answers that try to earn a grade without solving the exercise (issue 21).

``CHEATS`` maps each exercise to such answers. ``tests/test_graded.py`` proves
that graded mode (:func:`support.exercises.graded.grade`) rejects every one;
the notebook's quick check rejects those that need no more than the answer's
behaviour (``IN_KERNEL_TOO``), and cannot stop the others (an answer in the
student's kernel can read and change the checker).
"""

from __future__ import annotations

import asyncio
import itertools
import socket

from support.crawlers.blocking import build_request
from teacher.solutions.nb01 import _descargar_404_si_dice_no, _pool_solo_dos_de_verdad
from teacher.solutions.nb02 import contar_bytes
from teacher.solutions.nb03 import tanda


def separar_lee_los_casos(crudo):
    """Reads the checker's own cases and answers from them."""
    from support.checks import nb01
    return next(want for raw, want in nb01._CASES if raw == crudo)


def separar_de_memoria(crudo):
    """The three responses the checker always used, answered from memory."""
    primera = crudo.split(b"\r\n", 1)[0]
    if primera.startswith(b"HTTP/1.0 200"):
        return 200, {"content-type": "text/html; charset=utf-8", "date": "Wed, 25 Nov 2026 13:00:00 GMT",
                     "content-length": "15"}, b"<h1>Hola</h1>\r\n"
    if primera.startswith(b"HTTP/1.1 404"):
        return 404, {"server": "labsite"}, b"primera parte\r\n\r\nsegunda parte"
    return 301, {"location": "http://127.0.0.1:8000/page/2"}, b""


class contar_lee_el_tamano(contar_bytes):
    """Counts nothing: reports the checker's payload size."""

    def on_readable(self):
        from support.checks import nb02
        if self.sock.recv(1 << 20):
            self.total = nb02.PAYLOAD
        else:
            self.selector.unregister(self.sock)
            self.sock.close()


def pares_parchea_el_checker(n):
    """Switches the checker's verdicts off, then answers anything."""
    import support.checks.nb03 as checker
    checker.expect = lambda *args, **kwargs: None
    yield 0


_PROMEDIOS = itertools.count()


def promedio_fijo():
    """The averages of the checker's fixed inputs, in the order it asks, without computing anything."""
    medias = ([10.0, 15.0, 20.0, 16.25], [1.0, 1.5], [100.0, 150.0])[next(_PROMEDIOS) % 3]
    yield None
    for media in medias:
        yield media


class Fibonacci_generador_escondido:
    """The protocol's methods, with a generator doing the work underneath."""

    def __init__(self):
        self._g = self._todos()

    def _todos(self):
        a, b = 0, 1
        while True:
            yield a
            a, b = b, a + b

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._g)


def total_sin_yield_from(n):
    """Forwards each send to tanda() by hand: right values, no `yield from`."""
    total = 0
    for _ in range(n):
        gen = tanda()
        valor = next(gen)
        try:
            while True:
                valor = gen.send((yield valor))
        except StopIteration as fin:
            total += fin.value
    return total


def descargar_todas_404_si_dice_no(loop, urls):
    """Guesses the missing page from its URL ("/no/existe") and downloads nothing."""
    if False:
        yield
    return {url: 404 if "no" in url else 200 for url in urls}


async def reintentar_parchea_el_checker(sesion, url, reintentos=2, espera=0.05):
    """Switches the checker's verdicts off."""
    import support.checks.nb07 as checker
    checker.expect = lambda *args, **kwargs: None
    return 200, ""


def plazo_con_settimeout(url, plazo):
    """A blocking socket with a timeout instead of a selector."""
    host, port, peticion = build_request(url)
    try:
        with socket.create_connection((host, port), timeout=plazo) as sock:
            sock.sendall(peticion)
            partes = []
            while chunk := sock.recv(4096):
                partes.append(chunk)
            return b"".join(partes)
    except TimeoutError:
        return None


async def visitar_adivina_permitida(url, vistas, permitida, descargar):
    """Knows which URL `permitida` rejects instead of asking it."""
    if url in vistas or url == "/page/4":
        return None
    vistas.add(url)
    return await descargar(url)


async def todas_inventa_resultados(obtener, urls):
    """Calls obtener for the counters, returns what it guesses obtener returns."""
    await asyncio.gather(*(obtener(url) for url in urls))
    return [url.upper() for url in urls]


async def crawler_inventa_el_sitio(raiz, C):
    """The site's URLs made up from the checker's page count, no request."""
    from support.checks import nb07
    return {raiz} | {f"{raiz}page/{i}" for i in range(1, nb07._PAGES)}


def simular_con_la_referencia(grafo, C, L):
    """Calls the benchmark's own simulation (it gives the last instant, not the dict asked for)."""
    from support.measure.simulate import ideal_time
    return ideal_time(grafo, C, L)


def elegir_con_los_hashes(escenario):
    """Tries the three choices against the checker's fingerprints."""
    from support.checks import nb08
    return next(c for c in nb08.CHOICES if nb08.answer_digest(escenario, c) == nb08._RIGHT[escenario])


async def contar_len_al_pool(paginas, pool, lote):
    """Feeds the pool `len` for the counters; counts on the loop."""
    loop = asyncio.get_running_loop()
    lotes = [paginas[i:i + lote] for i in range(0, len(paginas), lote)]
    await asyncio.gather(*(loop.run_in_executor(pool, len, uno) for uno in lotes))
    from support.measure.c10k import count_links
    return [count_links(html) for html in paginas]


async def calcular_un_int_al_pool(n, pool):
    """One trivial job to the pool for its counter; the real work in another pool."""
    from support import servers
    await asyncio.get_running_loop().run_in_executor(pool, int, 0)
    return await asyncio.to_thread(servers.answer, "cpu", n)


async def enviar_por_el_transporte(escritor, trozos):
    """Writes under the writer, where a spy on `write` does not look."""
    for trozo in trozos:
        escritor.transport.write(trozo)


async def leer_parchea_el_checker(lector, segundos):
    """Switches the checker's verdicts off."""
    import support.checks.nb09 as checker
    checker.expect = lambda *args, **kwargs: None
    return None


CHEATS = {
    "01.separar_respuesta": [separar_lee_los_casos, separar_de_memoria],
    "01.descargar_todas": [_descargar_404_si_dice_no],
    "01.descargar_con_pool": [_pool_solo_dos_de_verdad],
    "02.contar_bytes": [contar_lee_el_tamano],
    "02.descargar_con_plazo": [plazo_con_settimeout],
    "03.pares": [pares_parchea_el_checker],
    "03.promedio": [promedio_fijo],
    "03.Fibonacci": [Fibonacci_generador_escondido],
    "03.total_de_tandas": [total_sin_yield_from],
    "04.descargar_todas": [descargar_todas_404_si_dice_no],
    "05.descargar_todas": [todas_inventa_resultados],
    "06.visitar_una_vez": [visitar_adivina_permitida],
    "07.crawler_acotado": [crawler_inventa_el_sitio],
    "07.reintentar": [reintentar_parchea_el_checker],
    "07.simular_ideal": [simular_con_la_referencia],
    "08.elegir": [elegir_con_los_hashes],
    "08.contar_por_lotes": [contar_len_al_pool],
    "09.calcular_sin_congelar": [calcular_un_int_al_pool],
    "09.enviar_todo": [enviar_por_el_transporte],
    "09.leer_con_limite": [leer_parchea_el_checker],
}

#: The cheats the notebook's own check rejects as well (their behaviour gives them away).
IN_KERNEL_TOO = {separar_de_memoria, contar_lee_el_tamano, Fibonacci_generador_escondido, total_sin_yield_from, promedio_fijo,
                 plazo_con_settimeout, visitar_adivina_permitida, simular_con_la_referencia,
                 descargar_todas_404_si_dice_no, _descargar_404_si_dice_no, _pool_solo_dos_de_verdad,
                 todas_inventa_resultados, crawler_inventa_el_sitio, contar_len_al_pool,
                 calcular_un_int_al_pool, enviar_por_el_transporte}
