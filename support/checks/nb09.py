"""Checkers of notebook 09 (el otro lado: el servidor).

* ``09.enviar_todo``: a real asyncio server on 127.0.0.1 hands the student's
  coroutine a writer (wrapped to record the transport's buffer after every
  ``write``) and a client reads slowly; the verdict rests on the biggest buffer
  seen and on the bytes the client received.
* ``09.calcular_sin_congelar``: a heartbeat coroutine ticks every 5 ms while
  the student's coroutine computes; the pool given counts its submissions.
* ``09.leer_con_limite``: ``asyncio.StreamReader`` objects fed by hand (whole
  request, in two parts, silence, half a request then silence or EOF).

Each scenario runs on a fresh loop in a worker thread under the exercises'
time limit (:func:`support.exercises.run_async` with :data:`LIMIT` seconds),
so an answer that never ends, or blocks the loop, gets a verdict in time.
"""

from __future__ import annotations

import asyncio
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from support.exercises import draw, exercise, expect, require_async, run_async, short
from support.fmt import kib, mib, num, seg
from support.servers import answer


def _within_limit(scenario, *args):
    """``await scenario(*args)`` on a fresh loop, under the exercises' time limit."""
    return run_async(scenario, *args,
                     hint="¿Esperas algo que nunca llega? Todo `await` necesita una salida.")


# --- 09.enviar_todo -----------------------------------------------------------


class _SpyWriter:
    """A StreamWriter that records the transport's buffer size after each write."""

    def __init__(self, writer: asyncio.StreamWriter):
        self._writer, self.biggest = writer, 0

    def seen(self) -> None:
        self.biggest = max(self.biggest, self._writer.transport.get_write_buffer_size())

    def write(self, data) -> None:
        self._writer.write(data)
        self.seen()

    def writelines(self, data) -> None:
        self._writer.writelines(data)
        self.seen()

    def __getattr__(self, name):
        return getattr(self._writer, name)


#: The kernel's socket buffers on each side (bytes): small, so that what the kernel holds is
#: little beside what an answer without ``drain`` piles up in the transport (left to
#: autotuning, loopback took in 3,7 MiB of 6). A smaller payload then shows the same: fewer
#: reads of the slow client, each a wake-up that a loaded machine delays.
_KERNEL_BUFFER = 64 * 1024
#: The pieces an answer sends, of 64 KiB each.
N_CHUNKS = 32


async def _send_to_slow_reader(fn, chunks: list[bytes]):
    spy: list[_SpyWriter] = []
    errors: list[BaseException] = []

    async def handle(reader, writer):
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _KERNEL_BUFFER)
        spy.append(_SpyWriter(writer))
        try:
            await fn(spy[0], chunks)
            spy[0].seen()  # whatever path the bytes took to the transport, they are in its buffer now
            await writer.drain()
        except Exception as exc:  # the student's error is the verdict, raised below
            errors.append(exc)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _KERNEL_BUFFER)  # before connecting: the window
    client.setblocking(False)
    await asyncio.get_running_loop().sock_connect(client, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=client, limit=65536)
    received = bytearray()
    while data := await reader.read(65536):
        received += data
        await asyncio.sleep(0.001)  # a slow client
    writer.close()
    server.close()
    if errors:
        raise errors[0]
    return bytes(received), spy[0].biggest if spy else 0


@exercise("09.enviar_todo", "escribir todos los trozos sin llenar el búfer",
          "Después de cada `escritor.write(trozo)`, `await escritor.drain()`.")
def check_enviar_todo(answer_fn):
    answer_fn = require_async(answer_fn, "enviar_todo")
    chunks = [bytes([65 + i % 26]) * 65536 for i in range(N_CHUNKS)]  # 2 MiB, each chunk different
    received, biggest = _within_limit(_send_to_slow_reader, answer_fn, chunks)
    total = sum(map(len, chunks))
    expect(received == b"".join(chunks),
           f"el cliente recibió {num(len(received))} bytes de {num(total)}, o en otro orden.",
           "Escribe cada trozo una vez, en el orden de la lista.")
    expect(biggest < 1024 * 1024,
           f"el búfer del escritor llegó a {mib(biggest)}: el cliente lento llenó la memoria.",
           "`write` nunca espera: `await escritor.drain()` después de cada trozo, no solo al final.")
    return f"todos los bytes llegaron y el búfer no pasó de {kib(biggest, 0)}"


# --- 09.calcular_sin_congelar ------------------------------------------------


class _CountingPool(ThreadPoolExecutor):
    """Counts its jobs and keeps what they returned: the work the pool really did."""

    def __init__(self):
        super().__init__(max_workers=1)
        self.submitted = 0
        self.returned: list = []

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1

        def job():
            result = fn(*args, **kwargs)
            self.returned.append(result)
            return result

        return super().submit(job)


async def _with_heartbeat(fn, n: int, pool):
    gaps, beating = [], True

    async def heartbeat():
        last = time.perf_counter()
        while beating:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.02)
    result = await fn(n, pool)
    beating = False
    await beat
    return result, max(gaps)


@exercise("09.calcular_sin_congelar", "calcular en el pool sin congelar el bucle",
          "`await asyncio.get_running_loop().run_in_executor(pool, servers.answer, \"cpu\", n)`.")
def check_calcular_sin_congelar(answer_fn):
    answer_fn = require_async(answer_fn, "calcular_sin_congelar")
    n = 3_000_000 + draw("09.calcular_sin_congelar").randrange(1000)  # drawn for each run
    t0 = time.perf_counter()
    expected = answer("cpu", n)
    alone = time.perf_counter() - t0
    with _CountingPool() as pool:
        result, gap = _within_limit(_with_heartbeat, answer_fn, n, pool)
    expect(result == expected, f"devolviste {short(result)}; se esperaba {short(expected)}.",
           "Devuelve lo que devuelve servers.answer(\"cpu\", n).")
    expect(pool.submitted >= 1, "no enviaste nada al pool que recibes.",
           "Usa ese pool: `loop.run_in_executor(pool, ...)`; `to_thread` o `None` usan otro.")
    expect(expected in pool.returned,
           f"el pool que recibes no hizo el cálculo: sus trabajos devolvieron {short(pool.returned)}.",
           "El cálculo entero va a ese pool: `loop.run_in_executor(pool, servers.answer, \"cpu\", n)`.")
    expect(gap < 0.5 * alone,
           f"el bucle estuvo congelado {num(gap * 1000)} ms (el cálculo solo tarda {num(alone * 1000)} ms).",
           "No esperes el resultado con `.result()`: eso bloquea el bucle. Usa `await`.")
    return f"el bucle nunca quedó congelado más de {num(gap * 1000)} ms"


# --- 09.leer_con_limite --------------------------------------------------------

_REQUEST = b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
#: The limit given when the client sends half a request and closes: an answer that keeps reading
#: after b"" spins all of it, so it is short, and the five cases together stay well inside LIMIT.
_CLOSE_SECONDS = 0.5


async def _read_cases(fn):
    async def case(parts: list[bytes], eof: bool, seconds: float):
        reader = asyncio.StreamReader()

        async def feed():
            for part in parts:
                reader.feed_data(part)
                await asyncio.sleep(0.02)
            if eof:
                reader.feed_eof()

        feeder = asyncio.create_task(feed())
        t0 = time.perf_counter()
        result = await fn(reader, seconds)
        await feeder
        return result, time.perf_counter() - t0

    return {
        "entera": await case([_REQUEST], False, 1.0),
        "en dos partes": await case([_REQUEST[:10], _REQUEST[10:]], False, 1.0),
        "silencio": await case([], False, 0.2),
        "media y silencio": await case([_REQUEST[:10]], False, 0.2),
        "media y cierre": await case([_REQUEST[:10]], True, _CLOSE_SECONDS),
    }


@exercise("09.leer_con_limite", "leer la petición con tiempo límite",
          "`async with asyncio.timeout(segundos): return await lector.readuntil(servers.END)`, "
          "y captura TimeoutError y asyncio.IncompleteReadError devolviendo None.")
def check_leer_con_limite(answer_fn):
    answer_fn = require_async(answer_fn, "leer_con_limite")
    got = _within_limit(_read_cases, answer_fn)
    for name in ("entera", "en dos partes"):
        result, _ = got[name]
        expect(result == _REQUEST, f"con una petición {name} devolviste {short(result)}.",
               "Lee hasta la línea vacía que cierra la petición: `readuntil(servers.END)`.")
    for name in ("silencio", "media y silencio", "media y cierre"):
        result, seconds = got[name]
        expect(result is None, f"con un cliente que envía '{name}' devolviste {short(result)} en vez de None.",
               "Si la petición no llega entera, devuelve None.")
    seconds = got["media y cierre"][1]
    expect(seconds < _CLOSE_SECONDS / 2,
           f"el cliente envió media petición y cerró la conexión, y tardaste {seg(seconds)} en devolver None "
           f"(el límite era {seg(_CLOSE_SECONDS)}): cuando el cliente cerró, no llegará nada más.",
           "`read` devuelve b'' cuando el cliente cerró: no vuelvas a leer; `readuntil` lanza "
           "asyncio.IncompleteReadError, que te lo dice de una vez.")
    seconds = got["silencio"][1]
    expect(seconds < 0.2 + 0.5, f"con un cliente callado esperaste {seg(seconds)}; el límite era 0,2 s.",
           "El tiempo límite es para toda la lectura: `asyncio.timeout(segundos)`.")
    return "devuelve la petición entera, o None a tiempo con un cliente callado, lento o que cierra"
