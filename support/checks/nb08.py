"""Checkers of notebook 08 (corrutinas vs hilos en números).

* ``08.elegir``: for each scenario, coroutines, threads or processes.
* ``08.contar_por_lotes``: send CPU-bound parsing to a process pool from a
  coroutine in batches (one task per batch, every batch at once), results
  flattened in page order.

The second checker hands the student's coroutine an executor that records
what it receives instead of a real process pool (starting worker processes
would take longer than a checker may): it runs the work in a thread, but first
checks that the function and its arguments can be pickled (a process pool
must send them to another process), counts how many calls are pending at once
and holds each one for a moment, so "all at once" and "one at a time" are told
apart by counting, not by the clock. The student's coroutine runs on a fresh
loop in a worker thread with a time limit, so it can never hang the notebook.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import pickle
import threading
import time

from support.exercises import Incorrect, call_with_limit, exercise, expect, not_a_coroutine, require_async, run_async, short
from support.measure.c10k import count_links, sample_pages

# -- 08.elegir -----------------------------------------------------------------

CHOICES = ("corrutinas", "hilos", "procesos")

#: scenario -> the question that leads to the answer (not the answer: the key
#: with its reasons lives in teacher/solutions/nb08.py, out of the student build).
SCENARIOS = {
    "descargar 50.000 páginas de un sitio lento":
        "¿se pasa el tiempo esperando a la red o calculando? ¿Cuántas esperas hay a la vez?",
    "mantener abiertos 10.000 WebSockets que casi nunca envían nada":
        "¿cuánto cuesta cada conexión que espera, en cada modelo? Mira la sección 2.",
    "contar los enlaces de 2.000 páginas ya descargadas":
        "¿hay algo que esperar, o es todo cálculo? ¿Quién puede usar los otros núcleos? Mira la sección 3.",
    "comprimir 200 archivos grandes con una función de Python puro":
        "¿es cálculo en Python? ¿Qué hace el GIL con dos hilos que calculan?",
    "hacer 20 consultas a la vez con una biblioteca que solo tiene API bloqueante":
        "¿la biblioteca sabe ceder el control con await? ¿Qué le pasa al bucle si una llamada se bloquea?",
}


def answer_digest(scenario: str, choice: str) -> str:
    """A one-way fingerprint of a (scenario, choice) pair: the checker compares
    fingerprints, so the notebook's namespace never holds the answers."""
    return hashlib.sha256(f"corrutinas-08|{scenario}|{choice}".encode()).hexdigest()[:16]


#: scenario -> answer_digest(scenario, right choice); tests/test_exercises.py
#: proves these match the teacher's key.
_RIGHT = {
    "descargar 50.000 páginas de un sitio lento": '90563da986f81514',
    "mantener abiertos 10.000 WebSockets que casi nunca envían nada": '57c7070c11d7ef6c',
    "contar los enlaces de 2.000 páginas ya descargadas": '518b00670d829a50',
    "comprimir 200 archivos grandes con una función de Python puro": '538332f338ff7337',
    "hacer 20 consultas a la vez con una biblioteca que solo tiene API bloqueante": 'e04f85a04d3ea6a1',
}


@exercise("08.elegir", "eliges bien entre corrutinas, hilos y procesos",
          hint="Pregúntate: ¿espera (E/S) o calcula (CPU)? ¿Lo que espera sabe ceder el control con await?")
def check_elegir(answer):
    expect(callable(answer), "elegir debe ser una función que recibe un escenario.",
           "Define def elegir(escenario): ... y devuelve 'corrutinas', 'hilos' o 'procesos'.")
    wrong = []
    for scenario, question in SCENARIOS.items():
        got = not_a_coroutine(call_with_limit(answer, scenario),
                              "elegir es una corrutina: aquí no hay nada que esperar.")
        expect(got in CHOICES, f"para «{scenario}» devolviste {short(got)}.",
               f"Devuelve uno de {', '.join(CHOICES)} (en minúsculas).")
        if answer_digest(scenario, got) != _RIGHT[scenario]:
            wrong.append((scenario, got, question))
    if wrong:
        scenario, got, question = wrong[0]
        raise Incorrect(f"{len(wrong)} de {len(SCENARIOS)} mal; por ejemplo, «{scenario}»: "
                        f"elegiste {got}, y no es lo mejor.", f"Pregúntate: {question}")
    return "las cinco elecciones son las que miden las secciones 2 y 3"


# -- 08.contar_por_lotes ---------------------------------------------------------


class RecordingPool(concurrent.futures.Executor):
    """Stands in for a process pool: checks each call would survive pickling,
    counts calls pending at once, and runs them in threads after ``hold`` s."""

    def __init__(self, hold: float = 0.05):
        self.hold = hold
        self.submitted = 0
        self.returned: list = []  # what the jobs returned: the work the pool really did
        self.pending = self.max_pending = 0
        self._lock = threading.Lock()
        self._threads = concurrent.futures.ThreadPoolExecutor(max_workers=8)

    def submit(self, fn, /, *args, **kwargs):
        try:
            pickle.dumps((fn, args, kwargs))
        except Exception as exc:
            raise Incorrect(f"un proceso no podría recibir esa llamada ({type(exc).__name__}: {exc}).",
                            "Pasa una función importable, como c10k.count_links, y sus argumentos: "
                            "ni lambdas ni funciones definidas en el notebook.") from None
        with self._lock:
            self.submitted += 1
            self.pending += 1
            self.max_pending = max(self.max_pending, self.pending)

        def run():
            time.sleep(self.hold)
            try:
                result = fn(*args, **kwargs)
                with self._lock:
                    self.returned.append(result)
                return result
            finally:
                with self._lock:
                    self.pending -= 1

        return self._threads.submit(run)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)


_PAGES = sample_pages(7, links=12, seed=7)
_BATCH = 3  # 7 pages in batches of 3: 3 tasks, the last one short


@exercise("08.contar_por_lotes", "mandas el trabajo al pool por lotes, todos a la vez, y juntas los resultados en orden",
          hint="lotes = [paginas[i:i + lote] for i in range(0, len(paginas), lote)]; una llamada a "
               "loop.run_in_executor(pool, c10k.count_links_many, un_lote) por lote, asyncio.gather para "
               "esperarlas todas, y después una sola lista con los números de todos los lotes, en orden.")
def check_contar_por_lotes(answer):
    answer = require_async(answer, "contar_por_lotes")
    pool = RecordingPool()
    expected = [count_links(html) for html in _PAGES]
    batches = -(-len(_PAGES) // _BATCH)
    try:
        got = run_async(answer, list(_PAGES), pool, _BATCH, hint="¿Esperas algo que nunca llega?")
    finally:
        pool.shutdown()
    expect(pool.submitted > 0, "no le pasaste ningún trabajo al pool: todo corrió en el bucle (o en otro pool).",
           "Usa loop.run_in_executor(pool, ...) con el pool que recibes, no None.")
    expect(pool.submitted == batches,
           f"mandaste {pool.submitted} trabajos al pool para {len(_PAGES)} páginas en lotes de {_BATCH}; "
           f"se esperaban {batches}.",
           "Un trabajo por lote (c10k.count_links_many recibe la lista de páginas del lote), no uno por página; "
           "y no olvides el último lote, que puede ser más corto.")
    expect(isinstance(got, (list, tuple)) and list(got) == expected,
           f"devolviste {short(got)}; se esperaba {short(expected)}.",
           "Devuelve una sola lista plana con la cantidad de enlaces de cada página, en el orden de las páginas "
           "(cada lote devuelve su propia lista: hay que juntarlas).")
    done_in_pool = sorted(map(repr, pool.returned))
    wanted = sorted(repr(expected[i:i + _BATCH]) for i in range(0, len(_PAGES), _BATCH))
    expect(done_in_pool == wanted,
           f"los trabajos del pool devolvieron {short(pool.returned)}; cada uno tenía que devolver los enlaces "
           f"de su lote ({short(expected[:_BATCH])} el primero): el recuento no lo hizo el pool.",
           "El trabajo pesado (contar los enlaces) es lo que va al pool: "
           "loop.run_in_executor(pool, c10k.count_links_many, lote).")
    expect(pool.max_pending == batches,
           f"como mucho hubo {pool.max_pending} trabajos pendientes a la vez, de {batches}.",
           "Crea todas las llamadas a run_in_executor antes de esperar ninguna (asyncio.gather), "
           "no una por una con await dentro del for.")
    return f"{len(_PAGES)} páginas en {batches} lotes enviados a la vez; resultados en orden"
