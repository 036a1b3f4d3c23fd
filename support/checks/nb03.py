"""Checkers of notebook 03 (iterators and generators).

Every exercise of this notebook runs the student's generator or iterator, and
the typical mistakes here are endless: a generator that never stops (``list``
of it would eat all memory), or a ``while True`` that never reaches a
``yield`` (``next`` would never return). So the checkers

* only ever take a bounded number of items (``itertools.islice``), and
* run the whole check under :func:`support.exercises.call_with_limit` with a
  line budget: a loop that never reaches a ``yield`` gets its verdict after
  :data:`LINE_BUDGET` lines, in well under a second, and one that sleeps
  gets it at the time limit.
"""

from __future__ import annotations

import inspect
import math
from itertools import islice
from typing import Any, Callable

from support.exercises import call_with_limit, draw, exercise, expect, guards, not_a_coroutine, short

#: Lines of Python one checker may run (the student's code and its own): far
#: above what a correct answer needs, small enough to give up in well under a second.
LINE_BUDGET = guards.LINE_BUDGET


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, rejecting an ``async def`` (and closing its coroutine: no warning)."""
    return not_a_coroutine(fn(*args), "tu respuesta es una función `async def`: devuelve una corrutina nativa, "
                                      "no un generador.",
                           "En este notebook todo es con generadores: usa `def` y `yield`, sin `async`.")


def _take(iterator, n: int) -> list:
    """The first ``n`` items of ``iterator`` (never more, even if it is endless)."""
    return list(islice(iterator, n))


# -- 03.pares ----------------------------------------------------------------

@exercise("03.pares", "pares(n) es un generador perezoso de los pares menores que n",
          "Recorre con un `while` (o un `for` sobre `range`) y usa `yield` para entregar cada par.")
def check_pares(pares):
    return call_with_limit(_check_pares, pares, lines=LINE_BUDGET)


def _check_pares(pares):
    result = _call(pares, 10)
    expect(inspect.isgenerator(result),
           f"pares(10) devolvió un {type(result).__name__}, no un generador.",
           "Si la función contiene `yield`, llamarla devuelve un generador; "
           "no construyas una lista con `return [...]`.")
    got = _take(result, 10)
    expect(got == [0, 2, 4, 6, 8],
           f"list(pares(10)) da {got}, se esperaba [0, 2, 4, 6, 8].",
           "Empieza en 0, suma de 2 en 2 y para antes de llegar a n (n no se incluye).")
    for n, want in [(0, []), (1, [0]), (2, [0]), (7, [0, 2, 4, 6])]:
        got = _take(pares(n), len(want) + 3)
        expect(got == want, f"list(pares({n})) da {got}, se esperaba {want}.",
               "Cuida los bordes: con n=0 no hay pares menores que n; con n=2 solo el 0.")
    big = pares(10**18)
    expect(_take(big, 4) == [0, 2, 4, 6],
           "pares(10**18) no entrega sus primeros valores.",
           "Un generador calcula cada valor cuando se lo piden: no prepares todos por adelantado.")
    return "pares(n) entrega los pares uno a uno, sin construir ninguna lista"


# -- 03.Fibonacci ------------------------------------------------------------

@exercise("03.Fibonacci", "Fibonacci es un iterador escrito a mano con __iter__ y __next__",
          "Guarda `a` y `b` en `self`; `__iter__` devuelve `self`; `__next__` devuelve `a` "
          "y avanza con una asignación simultánea `self.a, self.b = self.b, self.a + self.b`.")
def check_fibonacci(Fibonacci):
    return call_with_limit(_check_fibonacci, Fibonacci, lines=LINE_BUDGET)


def _check_fibonacci(Fibonacci):
    fib = _call(Fibonacci)
    expect(not inspect.isgenerator(fib),
           "Fibonacci() devolvió un generador: aquí se trata de escribir el protocolo a mano.",
           "Escribe una clase con `__init__`, `__iter__` y `__next__` (sin `yield`).")
    expect(hasattr(type(fib), "__next__"),
           "los objetos Fibonacci no tienen __next__: next() no puede avanzar sobre ellos.",
           "Define `def __next__(self):` que devuelva el siguiente número.")
    expect(hasattr(type(fib), "__iter__"),
           "los objetos Fibonacci no tienen __iter__: un `for` no puede recorrerlos.",
           "Un iterador también es iterable: define `def __iter__(self): return self`.")
    hidden = [k for k, v in vars(fib).items() if inspect.isgenerator(v)] if hasattr(fib, "__dict__") else []
    expect(not hidden, f"Fibonacci guarda un generador en `self.{hidden[0] if hidden else ''}`: el trabajo lo hace "
                       "un generador escondido, no tu `__next__`.",
           "Escribe el protocolo a mano: el estado (`self.a`, `self.b`) en el objeto y `__next__` que avanza, "
           "sin `yield`.")
    expect(iter(fib) is fib,
           "iter(f) no devuelve el mismo objeto f.",
           "En un iterador, `__iter__` devuelve `self`: así un `for` continúa donde quedó "
           "en lugar de empezar de nuevo.")
    want = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89]
    got = [next(fib) for _ in range(len(want))]
    expect(got == want, f"los primeros 12 valores son {got}, se esperaba {want}.",
           "Empieza con a, b = 0, 1 y avanza con una asignación simultánea: "
           "`self.a, self.b = self.b, self.a + self.b` (si lo escribes en dos líneas, "
           "la segunda ya ve el `a` nuevo).")
    # A for loop over a half-used iterator continues where it stopped.
    expect(_take(fib, 2) == [144, 233],
           "después de 12 valores, seguir recorriendo el mismo objeto no da 144, 233.",
           "El estado vive en el objeto: no lo reinicies en `__iter__`.")
    other = Fibonacci()
    expect(_take(other, 3) == [0, 1, 1],
           "un segundo Fibonacci() no empieza desde 0: los objetos comparten estado.",
           "Inicializa el estado en `__init__` con `self.a`, `self.b`, no en atributos de clase.")
    return "Fibonacci sigue el protocolo de iteración: iter(f) is f y next(f) avanza"


# -- 03.promedio -------------------------------------------------------------

@exercise("03.promedio", "promedio() es una corrutina que recibe números con send y cede la media",
          "Dentro de un `while True`, `valor = yield media` recibe el número; "
          "luego actualiza el total, la cuenta y la media.")
def check_promedio(promedio):
    return call_with_limit(_check_promedio, promedio, lines=LINE_BUDGET)


def _send_all(coro, values) -> list:
    return [coro.send(v) for v in values]


def _close_enough(got, want) -> bool:
    return len(got) == len(want) and all(
        isinstance(g, (int, float)) and math.isclose(g, w) for g, w in zip(got, want))


def _check_promedio(promedio):
    p = _call(promedio)
    expect(inspect.isgenerator(p),
           f"promedio() devolvió un {type(p).__name__}, no un generador.",
           "Una función con `yield` es una función generadora: llamarla crea el generador.")
    next(p)  # prime it: run up to the first yield
    rng = draw("03.promedio")
    sent = [rng.randrange(1, 100) for _ in range(4)]
    want = [sum(sent[:i + 1]) / (i + 1) for i in range(len(sent))]
    got = _send_all(p, sent)
    expect(_close_enough(got, want),
           f"enviando {', '.join(map(str, sent))} recibí {short(got)}, se esperaba {want}.",
           "Cada send entrega un número y debe devolver la media de todos los recibidos "
           "hasta ahora, incluido el último (con `/`, no con `//`).")
    a, b = promedio(), promedio()
    next(a)
    next(b)
    x, y = rng.randrange(1, 50), rng.randrange(100, 200)
    got = [a.send(x), b.send(y), a.send(2 * x), b.send(2 * y)]
    want = [x, y, 1.5 * x, 1.5 * y]
    expect(_close_enough(got, want),
           f"con dos promedios intercalados recibí {short(got)}, se esperaba {want}.",
           "Cada generador debe tener su propio estado en variables locales (no globales "
           "ni un argumento por defecto mutable).")
    return "promedio() conserva su estado entre un send y el siguiente"


# -- 03.total_de_tandas ------------------------------------------------------

@exercise("03.total_de_tandas",
          "total_de_tandas(n) delega en tanda() con yield from y devuelve la suma total",
          "En un `for` de n vueltas: `total += yield from tanda()`; al final `return total`.")
def check_total_de_tandas(total_de_tandas):
    return call_with_limit(_check_total_de_tandas, total_de_tandas, lines=LINE_BUDGET)


def _drive(gen, sends) -> tuple[bool, Any]:
    """Prime ``gen`` and send ``sends``; return (finished, StopIteration.value)."""
    try:
        next(gen)
        for value in sends:
            gen.send(value)
    except StopIteration as end:
        return True, end.value
    return False, None


def _check_total_de_tandas(total_de_tandas):
    g = _call(total_de_tandas, 2)
    expect(inspect.isgenerator(g),
           f"total_de_tandas(2) devolvió un {type(g).__name__}, no un generador.",
           "Usa `yield from tanda()` dentro de la función: eso la vuelve generadora.")
    next(g)
    expect(inspect.isgenerator(g.gi_yieldfrom),
           "total_de_tandas no delega en tanda() con `yield from`: mientras dura una tanda, el generador no "
           "está dentro de un `yield from`.",
           "`total += yield from tanda()`: reenvía cada send a la tanda y te da lo que devuelve con return.")
    g.close()
    cases = [(2, [1, 2, None, 10, None], 13),
             (3, [5, None, None, 1, 1, 1, None], 8),
             (1, [None], 0)]
    for n, sends, want in cases:
        finished, value = _drive(total_de_tandas(n), sends)
        expect(finished,
               f"total_de_tandas({n}) no terminó después de enviarle {sends}.",
               "Cada tanda termina cuando recibe None; después de n tandas el generador "
               "debe terminar con `return total`.")
        if value is None:
            hint = "El generador termina sin devolver nada: agrega `return total` al final."
        elif value == 0:
            hint = ("Los números enviados no llegan a las tandas: con `for x in tanda()` cada vuelta "
                    "llama next(), que envía None. Usa `yield from tanda()`, que reenvía cada send.")
        else:
            hint = ("El valor de `yield from tanda()` es lo que tanda() devuelve con `return`: "
                    "acumúlalo (`total += ...`) en lugar de reemplazarlo.")
        expect(value == want,
               f"total_de_tandas({n}) con los envíos {sends} devolvió {short(value)} "
               f"(StopIteration.value), se esperaba {want}.", hint)
    finished, value = _drive(total_de_tandas(0), [])
    expect(finished and value == 0,
           f"total_de_tandas(0) debería terminar enseguida devolviendo 0; devolvió {short(value)}.",
           "Con n=0 no hay tandas: el total es 0.")
    return "los send atraviesan el yield from y el return de cada tanda llega al total"
