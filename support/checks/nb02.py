"""Checkers of notebook 02 (selectors and callbacks).

* ``02.contar_bytes``: a class whose ``on_readable`` callback counts the bytes
  that arrive on a socket, and unregisters and closes it at end of stream.
* ``02.descargar_con_plazo``: a callback fetch on a selector that gives up
  (returns ``None``, cleans up) as soon as its deadline passes.

Both run the student's code under :func:`support.exercises.call_with_limit`;
the first also drives its selector loop for a bounded number of turns and
time (a callback that never unregisters would otherwise be called for ever).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import Any, Callable

from support.crawlers.blocking import parse_response
from support.exercises import Incorrect, call_with_limit, draw, exercise, expect, limit, short
from support.exercises.evidence import opened_sockets
from support.fmt import num, seg
from support.labsite import LabSite

# -- 02.contar_bytes ----------------------------------------------------------------

PAYLOAD = 100_000  # about this many bytes (drawn for each run, never a multiple of 4096), sent in pieces


def _payload() -> int:
    size = PAYLOAD + draw("02.contar_bytes").randrange(-20_000, 20_000)
    return size + 1 if size % 4096 == 0 else size


def _send_and_close(sock: socket.socket, size: int, ours: "_WatchedSocket") -> None:
    """Send ``size`` bytes in pieces, each after the reader has read from the one before:
    several readable events, and a gap after each in which a reader that reads again finds
    nothing (a busy wait shows), however late the machine lets the reader start."""
    with sock:
        try:
            for start in range(0, size, 10_000):
                sock.sendall(b"x" * min(10_000, size - start))
                ours.read_some.wait(1.0)  # bounded: an answer that never reads gets its verdict anyway
                ours.read_some.clear()
                time.sleep(0.002)
        except OSError:
            pass  # the checker closed its end early (e.g. the student's callback raised)


class _WatchedSocket(socket.socket):
    """The student's end of the pair: counts the reads that found nothing to read,
    and remembers whether it was still in the selector when it was closed."""

    def watch(self, selector: selectors.BaseSelector) -> "_WatchedSocket":
        self.selector, self.would_block, self.closed_while_registered = selector, 0, False
        self.read_some = threading.Event()  # set by a recv that returned bytes (the writer waits for it)
        return self

    def recv(self, *args):
        try:
            data = super().recv(*args)
        except BlockingIOError:
            self.would_block += 1
            raise
        if data:
            self.read_some.set()
        return data

    def close(self):
        if self.fileno() != -1 and self.selector is not None:
            try:
                self.selector.get_key(self)
                self.closed_while_registered = True
            except (KeyError, ValueError, RuntimeError):  # not registered, or the selector is closed
                pass
        super().close()


def _drive(cls, selector: selectors.BaseSelector, ours: socket.socket, writer: threading.Thread) -> tuple[Any, int]:
    """Build the student's counter and run the selector loop, bounded in time and turns;
    return the counter and how many turns came after the peer closed."""
    counter = cls(selector, ours)
    writer.start()
    deadline, eof_turns = time.monotonic() + 1.5, 0
    while selector.get_map() and ours.fileno() != -1 and time.monotonic() < deadline and eof_turns < 200:
        for key, _mask in selector.select(timeout=0.2):
            key.data()
        if not writer.is_alive():
            eof_turns += 1  # the peer has closed: the stream is over
    return counter, eof_turns


@exercise("02.contar_bytes", "cuentas los bytes y dejas el selector vacío al terminar",
          hint="En on_readable: chunk = self.sock.recv(4096); si chunk no está vacío, suma len(chunk); "
               "si es b'', self.selector.unregister(self.sock) y después self.sock.close().")
def _check_contar_bytes(cls: Callable[[Any, socket.socket], Any]) -> str:
    selector = selectors.DefaultSelector()
    pair, theirs = socket.socketpair()
    ours = _WatchedSocket(pair.family, pair.type, pair.proto, fileno=pair.detach()).watch(selector)
    ours.setblocking(False)
    size = _payload()
    writer = threading.Thread(target=_send_and_close, args=(theirs, size, ours), daemon=True)
    try:
        counter, eof_turns = call_with_limit(_drive, cls, selector, ours, writer, limit=limit(),
                                             hint="¿Un bucle dentro de on_readable? Lee una vez por llamada: "
                                                  "el bucle del selector te volverá a llamar.")
        writer.join(timeout=2)
        expect(ours.would_block == 0,
               f"recv lanzó BlockingIOError {num(ours.would_block)} veces: tu callback vuelve a leer cuando no "
               "hay nada que leer, una espera activa que ocupa la CPU.",
               "Lee una sola vez por llamada a on_readable: el selector te llamará otra vez cuando lleguen "
               "más datos. Nada de `while True` con `except BlockingIOError: continue`.")
        total = getattr(counter, "total", None)
        expect(isinstance(total, int), f"counter.total debe ser un int, es {short(total)}.")
        expect(total == size, f"llegaron {num(size)} bytes y contaste {num(total)}.",
               "Suma len(chunk) (los bytes que recv devolvió de verdad), no 1 ni 4096 por llamada.")
        expect(not ours.closed_while_registered,
               "cerraste el socket cuando todavía estaba registrado en el selector: primero unregister, "
               "después close (en ese orden).",
               "Un socket cerrado ya no tiene descriptor: el selector no puede quitarlo bien de su lista. "
               "Llama a self.selector.unregister(self.sock) y luego a self.sock.close().")
        expect(ours.fileno() != -1 or not selector.get_map(),
               "cerraste el socket pero sigue registrado en el selector.",
               "Llama a self.selector.unregister(self.sock) antes de self.sock.close().")
        expect(not selector.get_map(),
               "al llegar b'' (fin de los datos) el socket siguió registrado: el bucle te llamaría para siempre "
               f"(te llamó {eof_turns} veces más después del cierre).",
               "Cuando recv devuelve b'', quita el socket del selector con unregister y ciérralo.")
        expect(ours.fileno() == -1, "quitaste el socket del selector pero no lo cerraste.",
               "Después del unregister, llama a self.sock.close().")
    finally:
        for key in list(selector.get_map().values()):
            selector.unregister(key.fileobj)
        selector.close()
        ours.close()
        if writer.ident is not None:
            writer.join(timeout=2)
    return f"contaste los {num(size)} bytes y el bucle terminó solo"


# -- 02.descargar_con_plazo -------------------------------------------------------

LATENCY = 0.8
SHORT, LONG = 0.1, 3.0
_HANG_HINT = "¿Un bucle que no mira el plazo, o un select() sin tiempo límite?"


@exercise("02.descargar_con_plazo", "devuelves la respuesta a tiempo, o None en cuanto vence el plazo",
          hint="Como en bucle: limite = time.monotonic() + plazo; en cada vuelta restante = limite - "
               "time.monotonic(); si restante <= 0, unregister, close y return None; si no, "
               "selector.select(timeout=restante). Al terminar sin problemas, devuelve b''.join(partes).")
def _check_descargar_con_plazo(fn: Callable[[str, float], Any]) -> str:
    with LabSite(pages=3, latency=LATENCY) as site:
        url = site.url_of(1)
        start = time.perf_counter()
        with opened_sockets() as sockets:
            try:
                late = call_with_limit(fn, url, SHORT, limit=3 * LATENCY, hint=_HANG_HINT)
            except TimeoutError:  # the student's own: the guard's limit is an Incorrect
                raise Incorrect(f"con plazo {seg(SHORT, 1)} lanzaste TimeoutError.",
                                "Cuando vence el plazo, limpia (unregister y close) y devuelve None.") from None
            finally:
                elapsed = time.perf_counter() - start
                left_open = [sock for sock in sockets if sock.fileno() != -1]
                blocking = [sock for sock in sockets if sock.gettimeout() != 0.0]
                for sock in left_open:
                    sock.close()
        expect(not blocking,
               f"usaste un socket bloqueante (con tiempo de espera {seg(blocking[0].gettimeout() or 0, 1)}): "
               "el ejercicio pide un socket no bloqueante y el selector." if blocking else "",
               "sock.setblocking(False), y que el plazo lo cuente tu bucle: select(timeout=restante).")
        expect(late is None,
               f"el servidor tarda {seg(LATENCY, 1)} y el plazo era {seg(SHORT, 1)}: debías devolver None, "
               f"devolviste {type(late).__name__} tras {seg(elapsed)}.",
               "Calcula cuánto queda antes de cada select() y ríndete cuando no quede nada.")
        expect(elapsed < LATENCY * 0.6,
               f"devolviste None, pero tras {seg(elapsed)}: debías volver en cuanto venció el plazo de {seg(SHORT, 1)}.",
               "Pasa a select() el tiempo que queda (timeout=restante), no esperes la respuesta.")
        expect(not left_open,
               f"devolviste None a tiempo, pero dejaste {len(left_open)} socket(s) abierto(s): cada llamada "
               "que vence su plazo pierde un descriptor.",
               "Antes de devolver None: selector.unregister(sock), sock.close() y selector.close().")
        raw = call_with_limit(fn, url, LONG, limit=LONG + 1, hint=_HANG_HINT)
        expect(isinstance(raw, bytes), f"con plazo {seg(LONG, 1)} la respuesta llega a tiempo: debías devolver bytes, "
               f"devolviste {type(raw).__name__}.")
        try:
            status, _headers, body = parse_response(raw)
        except ValueError:
            raise Incorrect(f"lo que devolviste no es una respuesta HTTP completa: {short(raw, 50)}",
                            "Devuelve todo lo recibido (cabeceras incluidas), b''.join(partes), "
                            "después de que recv devuelva b''.") from None
        expect(status == 200 and body == site.html_of(1).encode(),
               f"la respuesta no es la página pedida (estado {status}, {num(len(body))} bytes de cuerpo).",
               "Junta todos los trozos recibidos hasta que recv devuelva b''.")
    return "la descarga vuelve a tiempo con la página, o con None en cuanto vence el plazo"
