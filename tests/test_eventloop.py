"""support.kernel.eventloop.EventLoop, and the loop notebook 02 builds by hand (`bucle`).

The notebook defines ``bucle(selector, timeout)`` in a cell; the support copy
is ``EventLoop.run``. Both are run here on the same scenarios, and must call
the same callbacks in the same order, end when idle, and give up on a lost
callback with ``TimeoutError``.
"""

from __future__ import annotations

import selectors
import socket
import time

import pytest
from notebook_cells import exec_cells
from realtime import takes_about
from virtual_time import virtual_loop

from support.kernel.eventloop import EventLoop


def _notebook_function(name: str):
    return exec_cells("02", f"def {name}(", namespace={"time": time, "selectors": selectors})[name]


def _run_notebook_loop(selector, timeout):
    return _notebook_function("bucle")(selector, timeout=timeout)


def _run_support_loop(loop: EventLoop, timeout):
    return loop.run(timeout=timeout)


def _ping_pong(selector, log, rounds=3):
    """A chain of callbacks on two socket pairs, each step registering the next.

    a1 waits to be writable, writes to a2; a2 reads and answers on b1 -> b2;
    b2 reads, and after ``rounds`` the chain unregisters and closes everything.
    """
    a1, a2 = socket.socketpair()
    b1, b2 = socket.socketpair()
    socks = (a1, a2, b1, b2)
    for s in socks:
        s.setblocking(False)
    state = {"round": 0}

    def a1_writable():
        log.append(("a1", "write", state["round"]))
        selector.unregister(a1)
        a1.send(b"ping%d" % state["round"])
        selector.register(a2, selectors.EVENT_READ, a2_readable)

    def a2_readable():
        data = a2.recv(100)
        log.append(("a2", "read", data))
        selector.unregister(a2)
        b1.send(b"pong")
        selector.register(b2, selectors.EVENT_READ, b2_readable)

    def b2_readable():
        data = b2.recv(100)
        log.append(("b2", "read", data))
        selector.unregister(b2)
        state["round"] += 1
        if state["round"] < rounds:
            selector.register(a1, selectors.EVENT_WRITE, a1_writable)

    selector.register(a1, selectors.EVENT_WRITE, a1_writable)
    return socks


def _close(socks):
    for s in socks:
        s.close()


def test_notebook_loop_and_support_loop_call_the_same_callbacks_in_the_same_order():
    sel = selectors.DefaultSelector()
    log_nb: list = []
    socks = _ping_pong(sel, log_nb)
    try:
        _run_notebook_loop(sel, timeout=5)
    finally:
        _close(socks)
        sel.close()

    loop = EventLoop()
    log_support: list = []
    socks = _ping_pong(loop.selector, log_support)
    try:
        _run_support_loop(loop, timeout=5)
    finally:
        _close(socks)
        loop.close()

    assert len(log_nb) == 9
    assert log_nb[:3] == [("a1", "write", 0), ("a2", "read", b"ping0"), ("b2", "read", b"pong")]
    assert log_nb == log_support


def test_both_loops_end_when_nothing_is_registered():
    sel = selectors.DefaultSelector()
    assert _run_notebook_loop(sel, timeout=5) == 0  # no turns: it never called select, so it never waited
    loop, clock = virtual_loop()
    start = clock()
    loop.run(timeout=5)
    assert loop.turns == 0 and clock() == start  # no turn and no wait, not the 5 s of its timeout
    sel.close()
    loop.close()


@pytest.mark.parametrize("which", ["notebook", "support"])
def test_a_lost_callback_is_a_timeout_not_a_hang(which):
    quiet, other = socket.socketpair()  # nobody ever writes to `other`
    start = time.perf_counter()
    try:
        with pytest.raises(TimeoutError):
            if which == "notebook":  # the notebook's loop reads the real clock
                sel = selectors.DefaultSelector()
                sel.register(quiet, selectors.EVENT_READ, lambda: None)
                _run_notebook_loop(sel, timeout=0.3)
            else:  # support's loop takes a clock: virtual time
                loop, clock = virtual_loop()
                start = clock()
                loop.add_reader(quiet, lambda: None)
                loop.run(timeout=0.3)
        if which == "notebook":
            takes_about(time.perf_counter() - start, 0.3, "the notebook's loop")
        else:
            assert clock() - start == pytest.approx(0.3)
    finally:
        quiet.close()
        other.close()


def test_add_writer_fires_when_a_connect_completes_and_add_reader_replaces_it():
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.socket()
    client.setblocking(False)
    loop, log = EventLoop(), []
    try:
        try:
            client.connect(server.getsockname())
        except BlockingIOError:
            pass

        def connected():
            log.append("connected")
            conn, _ = server.accept()
            conn.sendall(b"hola")
            conn.close()
            loop.add_reader(client, readable)  # modifies the registration, no KeyError

        def readable():
            data = client.recv(100)
            log.append(data)
            if not data:
                loop.remove(client)

        loop.add_writer(client, connected)
        assert loop.pending() == 1
        loop.run(timeout=5)
        assert loop.pending() == 0
    finally:
        client.close()
        server.close()
        loop.close()
    assert log == ["connected", b"hola", b""]


def test_remove_stops_the_callbacks_and_the_loop():
    a, b = socket.socketpair()
    loop, calls = EventLoop(), []
    try:
        b.send(b"x")  # a is readable, and stays readable since nobody reads it
        def readable():
            calls.append(1)
            if len(calls) == 3:
                loop.remove(a)
        loop.add_reader(a, readable)
        loop.run(timeout=5)
        assert calls == [1, 1, 1]
        assert loop.pending() == 0
        with pytest.raises(KeyError):
            loop.remove(a)  # already removed
    finally:
        a.close()
        b.close()
        loop.close()


def test_call_soon_runs_in_order_and_a_callback_added_meanwhile_waits_for_the_next_turn():
    loop, log = EventLoop(), []
    loop.on_turn = lambda lp, events: log.append(f"select {lp.turns}")
    loop.call_soon(log.append, "a")
    loop.call_soon(lambda: (log.append("b"), loop.call_soon(log.append, "d")))
    loop.call_soon(log.append, "c")
    loop.run(timeout=1)
    assert log == ["select 1", "a", "b", "c", "select 2", "d"]
    loop.close()


def test_on_turn_sees_every_select():
    a, b = socket.socketpair()
    loop, seen = EventLoop(), []
    loop.on_turn = lambda lp, events: seen.append(len(events))
    try:
        b.send(b"x")
        loop.add_reader(a, lambda: loop.remove(a))
        loop.run(timeout=5)
    finally:
        a.close()
        b.close()
        loop.close()
    assert seen == [1] and loop.turns == 1


def test_a_socket_removed_by_an_earlier_callback_of_the_same_turn_is_not_called():
    loop = EventLoop()
    pairs = [socket.socketpair() for _ in range(2)]
    calls = []

    def stop_all(name):
        calls.append(name)
        for a, b in pairs:
            if loop.watching(a):
                loop.remove(a)
            a.close()
            b.close()

    for i, (a, b) in enumerate(pairs):
        b.send(b"!")  # both readable: one select() returns both
        loop.add_reader(a, lambda i=i: stop_all(i))
    loop.run(timeout=5)
    loop.close()
    assert len(calls) == 1  # the other one's event was stale: its socket was closed (a crash before)


# -- fairness: one select per turn, as asyncio's BaseEventLoop._run_once (issue 22) --------


TICK = 1 / 64  # virtual CPU per round of the sleeper (exact in binary: no rounding drift)


def _busy_sleeper(loop, clock, seconds, tick=TICK):
    """A coroutine that loops on ``sleep(loop, 0)`` for ``seconds`` of virtual
    time, spending ``tick`` of (virtual) CPU per round."""
    from support.kernel.tasks import sleep

    start = clock()
    rounds = 0
    while clock() - start < seconds:
        clock.now += tick
        rounds += 1
        yield from sleep(loop, 0)
    return rounds


def test_a_coroutine_looping_on_sleep_zero_does_not_starve_a_ready_socket():
    from virtual_time import virtual_loop

    from support.kernel.tasks import Task

    loop, clock = virtual_loop()
    t0, served, selects = clock(), [], []
    loop.on_turn = lambda lp, events: selects.append(clock() - t0)
    a, b = socket.socketpair()
    try:
        b.send(b"hola")  # ready before the loop starts

        def readable():
            served.append((a.recv(10), clock() - t0))
            loop.remove(a)

        loop.add_reader(a, readable)
        busy = Task(_busy_sleeper(loop, clock, 0.5))
        loop.run(timeout=5)
    finally:
        a.close()
        b.close()
        loop.close()
    assert served == [(b"hola", TICK)]  # served on the first turn (the sleeper's first tick ran in Task())
    assert busy.result() == 32  # 0.5 s / TICK rounds
    assert len(selects) >= 32  # one select per round of the sleeper (the old loop made 0 in 0.5 s)


def test_run_timeout_is_checked_every_turn_even_with_callbacks_always_ready():
    from virtual_time import virtual_loop

    from support.kernel.tasks import Task

    loop, clock = virtual_loop()
    Task(_busy_sleeper(loop, clock, 0.5))
    t0 = clock()
    with pytest.raises(TimeoutError):
        loop.run(timeout=0.2)
    assert 0.2 <= clock() - t0 <= 0.2 + TICK  # stops within one round of the deadline (the old loop: 0.5 s)
    loop.close()


def test_a_callback_that_reschedules_itself_runs_once_per_turn():
    loop, runs = EventLoop(), []

    def again():
        runs.append(loop.turns)
        if len(runs) < 5:
            loop.call_soon(again)

    loop.call_soon(again)
    loop.run(timeout=5)
    loop.close()
    assert runs == [1, 2, 3, 4, 5]  # each call_soon waits for the next turn, after its select


# -- notebook 02's staged class (BucleDeEventos) against EventLoop, on sockets and call_soon -----


def _notebook_class():
    from collections import deque  # noqa: F401  (the cell imports it itself)

    namespace = {"time": time, "selectors": selectors,
                 "EVENT_READ": selectors.EVENT_READ, "EVENT_WRITE": selectors.EVENT_WRITE}
    return exec_cells("02", "class BucleDeEventos", namespace=namespace)["BucleDeEventos"]


def _mixed(loop, log):
    """Two ready sockets, call_soon before and from inside the callbacks."""
    pairs = [socket.socketpair() for _ in range(2)]
    for name, (a, b) in zip("xy", pairs):
        b.send(name.encode())

        def readable(a=a, name=name):
            log.append(("read", a.recv(10)))
            loop.remove(a)
            loop.call_soon(log.append, ("after", name))
        loop.add_reader(a, readable)
    loop.call_soon(lambda: (log.append("first"), loop.call_soon(log.append, "second")))
    return [s for pair in pairs for s in pair]


@pytest.mark.parametrize("scenario", ["ping_pong", "mixed"])
def test_notebook_02_class_and_event_loop_call_the_same_callbacks_in_the_same_order(scenario):
    logs = []
    for make in (_notebook_class(), EventLoop):
        loop, log = make(), []
        socks = _ping_pong(loop.selector, log) if scenario == "ping_pong" else _mixed(loop, log)
        try:
            loop.run(timeout=5)
        finally:
            _close(socks)
            loop.selector.close()
        logs.append(log)
    if scenario == "mixed":
        assert logs[0] == ["first", ("read", b"x"), ("read", b"y"), "second", ("after", "x"), ("after", "y")]
    else:
        assert len(logs[0]) == 9
    assert logs[0] == logs[1]
