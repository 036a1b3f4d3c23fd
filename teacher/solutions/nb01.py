"""Reference solutions of notebook 01's exercises, and typical wrong answers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from support.crawlers.blocking import fetch

# -- 01.separar_respuesta -------------------------------------------------------

def separar_respuesta(crudo: bytes):
    """``(estado, cabeceras, cuerpo)`` of a raw HTTP response."""
    cabecera, _, cuerpo = crudo.partition(b"\r\n\r\n")
    linea_estado, *lineas = cabecera.decode("iso-8859-1").split("\r\n")
    estado = int(linea_estado.split(" ", 2)[1])
    cabeceras = {}
    for linea in lineas:
        nombre, _, valor = linea.partition(":")
        cabeceras[nombre.strip().lower()] = valor.strip()
    return estado, cabeceras, cuerpo


def _separar_con_split_en_dos_puntos(crudo):
    # `nombre, valor = linea.split(":")` breaks on "Date: ... 13:00:00" (too many values).
    cabecera, _, cuerpo = crudo.partition(b"\r\n\r\n")
    linea_estado, *lineas = cabecera.decode().split("\r\n")
    cabeceras = {}
    for linea in lineas:
        nombre, valor = linea.split(":")
        cabeceras[nombre.lower()] = valor.strip()
    return int(linea_estado.split()[1]), cabeceras, cuerpo


def _separar_cuerpo_hasta_la_siguiente_linea_vacia(crudo):
    # split() instead of partition(): the body loses everything after its own blank line.
    partes = crudo.split(b"\r\n\r\n")
    estado, cabeceras, _ = separar_respuesta(crudo)
    return estado, cabeceras, partes[1]


def _separar_estado_como_texto(crudo):
    # The status stays a str ("200"), and header names keep their case.
    cabecera, _, cuerpo = crudo.partition(b"\r\n\r\n")
    linea_estado, *lineas = cabecera.decode().split("\r\n")
    cabeceras = dict(linea.split(": ", 1) for linea in lineas)
    return linea_estado.split()[1], cabeceras, cuerpo


def _separar_con_lf(crudo):
    # Looks for "\n\n": HTTP ends its lines with "\r\n", so the head never ends.
    cabecera, _, cuerpo = crudo.partition(b"\n\n")
    estado, cabeceras, _ = separar_respuesta(cabecera + b"\r\n\r\n")
    return estado, cabeceras, cuerpo


# -- 01.descargar_todas ---------------------------------------------------------

def descargar_todas(urls):
    """One thread per URL; start them all, then join them all."""
    estados = {}

    def descargar(url):
        estados[url] = fetch(url)[0]

    hilos = [threading.Thread(target=descargar, args=(url,)) for url in urls]
    for hilo in hilos:
        hilo.start()
    for hilo in hilos:
        hilo.join()
    return estados


def _descargar_join_en_el_bucle(urls):
    # join() right after start(): each thread finishes before the next begins.
    estados = {}

    def descargar(url):
        estados[url] = fetch(url)[0]

    for url in urls:
        hilo = threading.Thread(target=descargar, args=(url,))
        hilo.start()
        hilo.join()
    return estados


def _descargar_sin_join(urls):
    # Returns while the threads are still waiting for their answers.
    estados = {}

    def descargar(url):
        try:
            estados[url] = fetch(url)[0]
        except (OSError, ValueError):  # the checker's site may be gone by then
            pass

    for url in urls:
        threading.Thread(target=descargar, args=(url,), daemon=True).start()
    return estados  # the live dict, as a student writes it: the threads go on filling it


def _descargar_args_sin_coma(urls):
    # args=(url) is the string itself: each thread dies with a TypeError (issue 21).
    estados = {}

    def descargar(url):
        estados[url] = fetch(url)[0]

    hilos = [threading.Thread(target=descargar, args=(url)) for url in urls]
    for hilo in hilos:
        hilo.start()
    for hilo in hilos:
        hilo.join()
    return estados


def _descargar_404_si_dice_no(urls):
    # A cheat: guesses the missing page from its URL and asks the server nothing.
    return {url: 404 if "no" in url else 200 for url in urls}


def _descargar_sin_join_tras_una_pausa(urls):
    # The same mistake, slower to show: it returns after a pause as long as one download
    # (on a loaded machine the return is as late), and still before the threads end.
    estados = {}

    def descargar(url):
        try:
            estados[url] = fetch(url)[0]
        except (OSError, ValueError):
            pass

    for url in urls:
        threading.Thread(target=descargar, args=(url,), daemon=True).start()
    time.sleep(0.1)
    return estados


def _descargar_secuencial(urls):
    return {url: fetch(url)[0] for url in urls}


# -- 01.descargar_con_pool ------------------------------------------------------

def descargar_con_pool(urls, trabajadores):
    """At most ``trabajadores`` downloads at a time, with a thread pool."""
    with ThreadPoolExecutor(max_workers=trabajadores) as pool:
        return {url: estado for url, (estado, _cuerpo) in zip(urls, pool.map(fetch, urls))}


def _pool_sin_limite(urls, trabajadores):
    # Forgets max_workers: one thread per URL, the pool bounds nothing.
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return {url: estado for url, (estado, _cuerpo) in zip(urls, pool.map(fetch, urls))}


def _pool_guarda_la_tupla(urls, trabajadores):
    # Stores (status, body) instead of the status.
    with ThreadPoolExecutor(max_workers=trabajadores) as pool:
        return dict(zip(urls, pool.map(fetch, urls)))


def _pool_solo_dos_de_verdad(urls, trabajadores):
    # A cheat: two real requests in the pool, the rest guessed.
    with ThreadPoolExecutor(max_workers=trabajadores) as pool:
        reales = dict(zip(urls[:2], (e for e, _ in pool.map(fetch, urls[:2]))))
    return {url: reales.get(url, 404 if "no" in url else 200) for url in urls}


def _pool_de_uno(urls, trabajadores):
    # A pool with one worker: correct results, no concurrency.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return {url: pool.submit(fetch, url).result()[0] for url in urls}


WRONG_ANSWERS = {
    "01.separar_respuesta": [_separar_con_split_en_dos_puntos, _separar_cuerpo_hasta_la_siguiente_linea_vacia,
                             _separar_estado_como_texto, _separar_con_lf],
    "01.descargar_todas": [_descargar_join_en_el_bucle, (_descargar_sin_join, "antes de que terminaran"),
                           (_descargar_sin_join_tras_una_pausa, "antes de que terminaran"),
                           _descargar_secuencial, (_descargar_args_sin_coma, "TypeError"),
                           (_descargar_404_si_dice_no, "no recibió ninguna petición")],
    "01.descargar_con_pool": [_pool_sin_limite, _pool_guarda_la_tupla, _pool_de_uno,
                              (_pool_solo_dos_de_verdad, "no recibió ninguna petición")],
}
