"""Checkers of notebook 01 (blocking sockets and threads).

* ``01.separar_respuesta``: split a raw HTTP response into status, headers, body.
* ``01.descargar_todas``: the lecture's thread loop, fixed: one thread per URL,
  all of them waiting at the same time, results collected after ``join``.
* ``01.descargar_con_pool``: the same with a bounded ``ThreadPoolExecutor``.

The two threaded checkers start their own small site (latency 0.1 s) and read
from the server's own counters how many requests were in flight at once: that
is what tells one thread per URL, a pool of N and a sequential loop apart,
without trusting the student's timings. The student's function runs under
:func:`support.exercises.call_with_limit`, so a function that never returns
gives a verdict instead of hanging the notebook.
"""

from __future__ import annotations

import time
from typing import Any, Callable
from urllib.parse import urlsplit

from support.exercises import call_with_limit, draw, exercise, expect, not_a_coroutine, short
from support.fmt import seg
from support.labsite import LabSite

LATENCY = 0.1
_HANG_HINT = "¿Un join que espera a un hilo que nunca termina, o un bucle sin fin?"


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``; an ``async def`` answer is rejected (its coroutine closed, never left un-awaited)."""
    return not_a_coroutine(fn(*args), "tu función es una corrutina (async def): aquí todo es bloqueante.")


# -- 01.separar_respuesta -----------------------------------------------------

_CASES = [
    (b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
     b"Date: Wed, 25 Nov 2026 13:00:00 GMT\r\nContent-Length: 15\r\n\r\n<h1>Hola</h1>\r\n",
     (200, {"content-type": "text/html; charset=utf-8", "date": "Wed, 25 Nov 2026 13:00:00 GMT",
            "content-length": "15"}, b"<h1>Hola</h1>\r\n")),
    (b"HTTP/1.1 404 Not Found\r\nSERVER:   labsite  \r\n\r\nprimera parte\r\n\r\nsegunda parte",
     (404, {"server": "labsite"}, b"primera parte\r\n\r\nsegunda parte")),
    (b"HTTP/1.0 301 Moved Permanently\r\nLocation: http://127.0.0.1:8000/page/2\r\n\r\n",
     (301, {"location": "http://127.0.0.1:8000/page/2"}, b"")),
]


def _drawn_case() -> tuple[bytes, tuple[int, dict[str, str], bytes]]:
    """One more response, drawn for this run: a status, headers (a ':' in a value,
    odd spacing and case) and a body with a blank line of its own."""
    rng = draw("01.separar_respuesta")
    status, reason = rng.choice([(200, "OK"), (404, "Not Found"), (503, "Service Unavailable"), (302, "Found")])
    headers = {"x-numero": f"{rng.randrange(10**6)}", "location": f"http://127.0.0.1:{rng.randrange(1024, 65535)}/"
               f"page/{rng.randrange(100)}", "x-hora": f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"}
    lines = "".join(f"{name.upper() if rng.random() < 0.5 else name.title()}:{' ' * rng.randrange(3)}{value}\r\n"
                    for name, value in headers.items())
    body = f"parte {rng.randrange(1000)}\r\n\r\notra parte {rng.randrange(1000)}".encode()
    raw = f"HTTP/1.1 {status} {reason}\r\n{lines}\r\n".encode() + body
    return raw, (status, headers, body)


@exercise("01.separar_respuesta", "separas bien estado, cabeceras y cuerpo",
          hint="La cabecera termina en la primera línea vacía, b'\\r\\n\\r\\n' (usa partition). "
               "La primera línea es 'HTTP/1.0 200 OK': el código es la segunda palabra, como int. "
               "Cada cabecera es 'Nombre: valor': corta solo en los primeros ':' y pasa el nombre a minúsculas.")
def _check_separar_respuesta(fn: Callable[[bytes], Any]) -> str:
    for raw, (status, headers, body) in [*_CASES, _drawn_case()]:
        got = call_with_limit(_call, fn, raw)
        first = raw.split(b"\r\n", 1)[0].decode()
        expect(isinstance(got, tuple) and len(got) == 3,
               f"con la respuesta '{first}...' devolviste {type(got).__name__}, no una tupla (estado, cabeceras, cuerpo).")
        g_status, g_headers, g_body = got
        expect(type(g_status) is int, f"el estado debe ser un int (200), no {short(g_status)}.")
        expect(g_status == status, f"con '{first}' el estado es {status}, devolviste {short(g_status)}.")
        expect(isinstance(g_headers, dict), f"las cabeceras deben ser un dict, no {type(g_headers).__name__}.")
        expect(g_headers == headers,
               f"con '{first}' esperaba las cabeceras {headers}, devolviste {short(g_headers, 200)}.")
        expect(isinstance(g_body, bytes), f"el cuerpo debe ser bytes, no {type(g_body).__name__}.")
        expect(g_body == body, f"con '{first}' el cuerpo es {body!r}, devolviste {short(g_body)}.")
    return "separas bien estado, cabeceras y cuerpo (también con ':' en un valor y líneas vacías en el cuerpo)"


# -- the threaded exercises -------------------------------------------------------


def _expected(site: LabSite, count: int, exercise_name: str) -> dict[str, int]:
    """``count - 1`` pages of the site and one missing path, drawn for this run."""
    rng = draw(exercise_name)
    pages = rng.sample(range(1, site.pages), count - 1)
    urls = {site.url_of(i): 200 for i in pages}
    missing = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(6))
    urls[f"{site.url}{missing}/{rng.randrange(1000)}"] = 404
    return dict(rng.sample(sorted(urls.items()), len(urls)))  # in an order of its own


def _returned(result: Any) -> Any:
    """What the answer returned, as it was when it returned: a dict that threads go on
    filling after the function returned must not be read later, when they are done."""
    return dict(result) if isinstance(result, dict) else result


def _check_statuses(result: Any, expected: dict[str, int]) -> None:
    expect(isinstance(result, dict), f"debes devolver un dict url -> estado, devolviste {type(result).__name__}.")
    missing = [u for u in expected if u not in result]
    expect(not missing, f"faltan {len(missing)} de {len(expected)} URLs en el resultado.",
           "¿Devuelves el dict antes de que terminen los hilos? Espera a cada uno con join() "
           "después de haberlos lanzado todos.")
    wrong = {u: result[u] for u in expected if result[u] != expected[u]}
    some = next(iter(wrong), None)
    expect(not wrong, f"{len(wrong)} estados no coinciden, por ejemplo {some}: "
                      f"esperaba {expected.get(some)!r} y devolviste {short(wrong.get(some))}.",
           "Guarda solo el estado: fetch(url) devuelve (estado, cuerpo), toma el [0].")


def _check_requests(site: LabSite, expected: dict[str, int]) -> None:
    """Each URL was asked of the server exactly once (the server's own counter)."""
    paths = {urlsplit(u).path: u for u in expected}
    asked = site.stats.get_by_path
    never = [p for p in paths if asked[p] == 0]
    expect(not never, f"el servidor no recibió ninguna petición de {len(never)} de las {len(paths)} URLs "
                      f"(por ejemplo {never[0] if never else ''}), y aun así diste su estado.",
           "Descarga cada URL con fetch(url): el estado sale de la respuesta del servidor.")
    twice = [p for p in paths if asked[p] > 1]
    expect(not twice, f"pediste {len(twice)} URL(s) más de una vez (por ejemplo {twice[0] if twice else ''}).",
           "Una descarga por URL.")


def _answered(site: LabSite) -> int:
    """Requests the server has finished answering (it counts each before sending it)."""
    return sum(site.stats.by_status.values())


def _call_and_count(site: LabSite, fn: Callable[..., Any], *args: Any) -> tuple[Any, int]:
    """What the answer returned, as it was then, and how many requests the server had
    answered at that moment: a counter, where the wall clock would depend on the load."""
    result = _returned(_call(fn, *args))
    return result, _answered(site)


def _check_facts(site: LabSite, expected: dict[str, int], result: Any, answered: int) -> None:
    """What the server saw, then whether the answer waited for its downloads, then the
    statuses: a result that no request explains is the first thing to say."""
    if answered < len(expected):
        time.sleep(2 * LATENCY)  # the answer's own threads, if any, finish meanwhile
        later = _answered(site) - answered
        expect(not later, f"tu función volvió cuando el servidor había contestado {answered} de "
                          f"{len(expected)} peticiones; {later} más terminaron después: devolvió antes de "
                          "que terminaran las descargas.",
               "Espera a cada hilo con join() (después de lanzarlos todos) antes de devolver el dict.")
    _check_requests(site, expected)
    _check_statuses(result, expected)


@exercise("01.descargar_todas", "un hilo por URL, todos esperando a la vez",
          hint="Primero lanza todos los hilos (start) guardándolos en una lista; "
               "después, en otro bucle, espera a cada uno (join). Pasa args=(url,) con la coma.")
def _check_descargar_todas(fn: Callable[[list[str]], dict]) -> str:
    with LabSite(pages=20, latency=LATENCY, seed=1) as site:
        expected = _expected(site, 11, "01.descargar_todas")
        start = time.perf_counter()
        result, answered = call_with_limit(_call_and_count, site, fn, list(expected), hint=_HANG_HINT)
        seconds = time.perf_counter() - start
        _check_facts(site, expected, result, answered)
        peak = site.stats.max_in_flight
    n = len(expected)
    expect(peak > n // 2, f"el servidor vio como mucho {peak} petición(es) a la vez, de {n}: "
                          "las descargas fueron una detrás de otra.",
           "Si haces join() justo después de cada start(), esperas a cada hilo antes de lanzar el "
           "siguiente: es secuencial con más pasos. Lanza todos y luego espera.")
    return f"{n} URLs en {seg(seconds)} con hasta {peak} peticiones a la vez"


@exercise("01.descargar_con_pool", "un pool de hilos acotado",
          hint="Crea el pool con ThreadPoolExecutor(max_workers=trabajadores) y usa "
               "pool.map(fetch, urls); de cada resultado (estado, cuerpo) guarda el estado.")
def _check_descargar_con_pool(fn: Callable[[list[str], int], dict]) -> str:
    with LabSite(pages=20, latency=LATENCY, seed=2) as site:
        expected = _expected(site, 12, "01.descargar_con_pool")
        notes = []
        for workers in (3, 5):
            site.reset_stats()
            start = time.perf_counter()
            result, answered = call_with_limit(_call_and_count, site, fn, list(expected), workers, hint=_HANG_HINT)
            seconds = time.perf_counter() - start
            peak = site.stats.max_in_flight
            _check_facts(site, expected, result, answered)
            expect(peak <= workers,
                   f"con trabajadores={workers} el servidor vio {peak} peticiones a la vez: el pool no está acotado.",
                   "Pasa max_workers=trabajadores al crear el ThreadPoolExecutor (su valor por defecto "
                   "depende de los núcleos de la máquina).")
            expect(peak >= 2, f"con trabajadores={workers} el servidor vio solo {peak} petición a la vez: "
                              "no hubo concurrencia.",
                   "Envía todas las URLs al pool (pool.map o pool.submit) antes de esperar los resultados.")
            notes.append(f"{workers} trabajadores: hasta {peak} a la vez, {seg(seconds)}")
    return "; ".join(notes)
