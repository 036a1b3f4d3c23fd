"""Reference solutions of notebook 02's exercises, and typical wrong answers."""

from __future__ import annotations

import selectors
import socket
import time
from selectors import EVENT_READ, EVENT_WRITE

from support.crawlers.blocking import build_request

# -- 02.contar_bytes ----------------------------------------------------------------

class contar_bytes:
    def __init__(self, selector, sock):
        self.selector, self.sock, self.total = selector, sock, 0
        selector.register(sock, EVENT_READ, self.on_readable)

    def on_readable(self):
        chunk = self.sock.recv(4096)
        if chunk:
            self.total += len(chunk)
        else:  # the other end closed: nothing more will come
            self.selector.unregister(self.sock)
            self.sock.close()


class _CuentaLlamadas(contar_bytes):
    # Counts how many times it was called, not how many bytes arrived.
    def on_readable(self):
        chunk = self.sock.recv(4096)
        if chunk:
            self.total += 1
        else:
            self.selector.unregister(self.sock)
            self.sock.close()


class _CuentaDe4096(contar_bytes):
    # Assumes recv always fills the buffer.
    def on_readable(self):
        chunk = self.sock.recv(4096)
        if chunk:
            self.total += 4096
        else:
            self.selector.unregister(self.sock)
            self.sock.close()


class _NoSeDesregistra(contar_bytes):
    # Ignores b"": the socket stays readable at end of stream and the loop never ends.
    def on_readable(self):
        self.total += len(self.sock.recv(4096))


class _CierraSinDesregistrar(contar_bytes):
    # Closes the socket but leaves it in the selector.
    def on_readable(self):
        chunk = self.sock.recv(4096)
        self.total += len(chunk)
        if not chunk:
            self.sock.close()


# -- 02.descargar_con_plazo -------------------------------------------------------

def _start(url):
    """A non-blocking socket connecting to ``url``'s host, and the request to send."""
    host, port, peticion = build_request(url)
    sock = socket.socket()
    sock.setblocking(False)
    try:
        sock.connect((host, port))
    except BlockingIOError:
        pass
    return sock, peticion


def _callbacks(selector, sock, peticion, partes):
    def on_connected():
        sock.sendall(peticion)
        selector.modify(sock, EVENT_READ, on_readable)

    def on_readable():
        chunk = sock.recv(4096)
        if chunk:
            partes.append(chunk)
        else:
            selector.unregister(sock)
            sock.close()

    selector.register(sock, EVENT_WRITE, on_connected)


def descargar_con_plazo(url, plazo):
    selector = selectors.DefaultSelector()
    sock, peticion = _start(url)
    partes = []
    _callbacks(selector, sock, peticion, partes)
    limite = time.monotonic() + plazo
    try:
        while selector.get_map():
            restante = limite - time.monotonic()
            if restante <= 0:  # plazo vencido: limpiar y rendirse
                selector.unregister(sock)
                sock.close()
                return None
            for key, _mask in selector.select(timeout=restante):
                key.data()
    finally:
        selector.close()
    return b"".join(partes)


def _sin_plazo(url, plazo):
    # Ignores the deadline: waits for the whole answer.
    selector = selectors.DefaultSelector()
    sock, peticion = _start(url)
    partes = []
    _callbacks(selector, sock, peticion, partes)
    while selector.get_map():
        for key, _mask in selector.select():
            key.data()
    selector.close()
    return b"".join(partes)


def _lanza_timeout(url, plazo):
    # Raises like `bucle` instead of returning None.
    selector = selectors.DefaultSelector()
    sock, peticion = _start(url)
    partes = []
    _callbacks(selector, sock, peticion, partes)
    limite = time.monotonic() + plazo
    while selector.get_map():
        restante = limite - time.monotonic()
        if restante <= 0:
            selector.unregister(sock)
            sock.close()
            raise TimeoutError("plazo vencido")
        for key, _mask in selector.select(timeout=restante):
            key.data()
    return b"".join(partes)


def _plazo_despues_de_esperar(url, plazo):
    # Checks the deadline only after the answer arrived: right value, far too late.
    inicio = time.monotonic()
    respuesta = _sin_plazo(url, plazo)
    return None if time.monotonic() - inicio > plazo else respuesta


def _devuelve_lo_recibido(url, plazo):
    # On timeout returns what arrived so far (b"") instead of None.
    resultado = descargar_con_plazo(url, plazo)
    return b"" if resultado is None else resultado


class _EsperaActiva(contar_bytes):
    # Reads in a loop inside the callback until the stream ends (issue 21): a busy wait.
    def on_readable(self):
        while True:
            try:
                chunk = self.sock.recv(4096)
            except BlockingIOError:
                continue
            if not chunk:
                break
            self.total += len(chunk)
        self.selector.unregister(self.sock)
        self.sock.close()


class _EsperaActivaTardia(_EsperaActiva):
    # The same busy wait, its first call late (as on a loaded machine): with every byte
    # already waiting, it would never find the socket empty unless the sender waits for it.
    def on_readable(self):
        time.sleep(0.1)
        super().on_readable()


class _CierraAntesDeDesregistrar(contar_bytes):
    # close() then unregister(): the statement says "en ese orden" the other way round.
    def on_readable(self):
        chunk = self.sock.recv(4096)
        if chunk:
            self.total += len(chunk)
        else:
            self.sock.close()
            self.selector.unregister(self.sock)


def _none_sin_limpiar(url, plazo):
    # At the deadline, returns None and leaves the socket open and registered (issue 21).
    selector = selectors.DefaultSelector()
    sock, peticion = _start(url)
    partes = []
    _callbacks(selector, sock, peticion, partes)
    limite = time.monotonic() + plazo
    while selector.get_map():
        restante = limite - time.monotonic()
        if restante <= 0:
            return None
        for key, _mask in selector.select(timeout=restante):
            key.data()
    selector.close()
    return b"".join(partes)


def _bloqueante_con_settimeout(url, plazo):
    # A cheat: a blocking socket with settimeout instead of a selector.
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


WRONG_ANSWERS = {
    "02.contar_bytes": [_CuentaLlamadas, _CuentaDe4096, _NoSeDesregistra, _CierraSinDesregistrar,
                        (_EsperaActiva, "espera activa"), (_EsperaActivaTardia, "espera activa"),
                        (_CierraAntesDeDesregistrar, "en ese orden")],
    "02.descargar_con_plazo": [_sin_plazo, _lanza_timeout, _plazo_despues_de_esperar, _devuelve_lo_recibido,
                               (_none_sin_limpiar, "abierto"), (_bloqueante_con_settimeout, "bloqueante")],
}
