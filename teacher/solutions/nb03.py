"""Reference solutions of notebook 03's exercises, and typical wrong answers."""

from __future__ import annotations

# -- 03.pares ----------------------------------------------------------------

def pares(n):
    """Yield 0, 2, 4, ... while below ``n``, one at a time."""
    i = 0
    while i < n:
        yield i
        i += 2


def _pares_lista(n):
    # Eager: builds the whole list (pares(10**18) would never return).
    return [i for i in range(n) if i % 2 == 0]


def _pares_incluye_n(n):
    # Off by one: includes n itself when n is even.
    yield from range(0, n + 1, 2)


def _pares_sin_avanzar(n):
    # Forgets to advance: an endless generator of zeros.
    i = 0
    while i < n:
        yield i


# -- 03.Fibonacci ------------------------------------------------------------

class Fibonacci:
    """Endless Fibonacci iterator written with the protocol by hand."""

    def __init__(self):
        self.a, self.b = 0, 1

    def __iter__(self):
        return self

    def __next__(self):
        current = self.a
        self.a, self.b = self.b, self.a + self.b
        return current


class _FibonacciAsignacionEnDosPasos(Fibonacci):
    # The classic slip: the second line already sees the new ``a``: 0, 1, 2, 4, 8, ...
    def __next__(self):
        current = self.a
        self.a = self.b
        self.b = self.a + self.b
        return current


class _FibonacciSinIter:
    # Has __next__ but not __iter__: next() works, a for loop does not.
    def __init__(self):
        self.a, self.b = 0, 1

    def __next__(self):
        current = self.a
        self.a, self.b = self.b, self.a + self.b
        return current


class _FibonacciEstadoDeClase:
    # State kept on the class: every instance continues the same sequence.
    a, b = 0, 1

    def __iter__(self):
        return self

    def __next__(self):
        cls = type(self)
        current = cls.a
        cls.a, cls.b = cls.b, cls.a + cls.b
        return current


def _fibonacci_generador():
    # Correct sequence, but a generator function, not the protocol by hand.
    a, b = 0, 1
    while True:
        yield a
        a, b = b, a + b


# -- 03.promedio -------------------------------------------------------------

def promedio():
    """Coroutine: receives numbers with ``send`` and yields their running average."""
    total = 0
    cuenta = 0
    media = None
    while True:
        valor = yield media
        total += valor
        cuenta += 1
        media = total / cuenta


def _promedio_suma():
    # Yields the running total instead of the average.
    total = 0
    media = None
    while True:
        valor = yield media
        total += valor
        media = total


def _promedio_default_mutable(valores=[]):  # noqa: B006 -- the bug on purpose
    # State in a mutable default argument: shared by every call.
    media = None
    while True:
        valores.append((yield media))
        media = sum(valores) / len(valores)


def _promedio_atrasado():
    # Updates the average *before* adding the value just received: one step late.
    total = 0
    cuenta = 0
    media = None
    while True:
        valor = yield media
        media = total / cuenta if cuenta else valor
        total += valor
        cuenta += 1


def _promedio_division_entera():
    # Floor division: 16 instead of 16.25.
    total = 0
    cuenta = 0
    media = None
    while True:
        valor = yield media
        total += valor
        cuenta += 1
        media = total // cuenta


# -- 03.total_de_tandas ------------------------------------------------------

def tanda():
    """Subgenerator: receives numbers with ``send`` until ``None``; returns their sum."""
    total = 0
    while True:
        x = yield
        if x is None:
            return total
        total += x


def total_de_tandas(n):
    """Delegate ``n`` times to ``tanda()`` with ``yield from``; return the grand total."""
    total = 0
    for _ in range(n):
        total += yield from tanda()
    return total


def _tandas_con_for(n):
    # A for loop calls next(), which sends None: the tanda ends at once and the
    # caller's send() never reaches it.
    total = 0
    for _ in range(n):
        for x in tanda():
            yield x
    return total


def _tandas_sin_return(n):
    # Adds up the totals but never returns them: StopIteration.value is None.
    total = 0
    for _ in range(n):
        total += yield from tanda()


def _tandas_pisa_total(n):
    # Overwrites the total: only the last tanda counts.
    total = 0
    for _ in range(n):
        total = yield from tanda()
    return total


WRONG_ANSWERS = {
    "03.pares": [_pares_lista, _pares_incluye_n, _pares_sin_avanzar],
    "03.Fibonacci": [_FibonacciAsignacionEnDosPasos, _FibonacciSinIter, _FibonacciEstadoDeClase,
                     _fibonacci_generador],
    "03.promedio": [_promedio_suma, _promedio_default_mutable, _promedio_atrasado,
                    _promedio_division_entera],
    "03.total_de_tandas": [_tandas_con_for, _tandas_sin_return, _tandas_pisa_total],
}
