"""See the loop think: drive the toy :class:`EventLoop` one step at a time and record what it sees.

A *step* is either the first half of a turn (one ``select`` and the callbacks
it queued: ``loop.poll``) or one callback of the turn (``loop.run_next``); the
:class:`Stepper` calls exactly the pieces ``EventLoop.run_once`` calls, in the
same order, so it observes and never reorders (``tests/test_stepper.py``
proves it against a plain ``loop.run``). After every step it takes a
:class:`Snapshot`, in Spanish, of what the loop holds: the ready queue, the
selector's registrations, the timer heap, each Task (state and the source line
its generator is suspended on, read from the frame) and the pending futures
with who waits on each.

Tasks are duck-typed (``name``, ``done()``, ``coro``, ``waiting_on``), so the
notebook's own ``Task`` and :class:`support.kernel.tasks.Task` both
work; tasks reached through futures (a task waiting on another, a future's
``step`` callback) are found on their own.

:class:`Question` is a "¿Qué pasa ahora?" prediction: asked before a chosen
step, its options and its answer are read from the recording (never typed in
by hand), ``check(choice)`` says whether the prediction was right and why.
The widget view lives in :mod:`support.kernel.stepper_view`; :func:`table`
prints the recorded turns for readers without a kernel (handout, slides).

Discussion: the recording is made at once (``Stepper.run``), in virtual time
(:mod:`support.kernel.virtual_time`), so a notebook cell always completes under
Run All and every student, and every stored output, sees the same steps; the
buttons then walk through that recording.
"""

from __future__ import annotations

import inspect
import linecache
import selectors
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from support.fmt import seg

__all__ = ["Snapshot", "Step", "Stepper", "Question", "Pregunta", "describe", "table", "timeline_rows", "timeline_text"]

EVENT_NAMES = {selectors.EVENT_READ: "leer", selectors.EVENT_WRITE: "escribir",
               selectors.EVENT_READ | selectors.EVENT_WRITE: "leer y escribir"}


# -- describing what the loop holds, in Spanish ------------------------------------------------


def _is_future(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("add_done_callback", "done", "name", "_callbacks"))


def _is_task(obj: Any) -> bool:
    return _is_future(obj) and hasattr(obj, "coro") and hasattr(obj, "waiting_on")


def _futures_in(callback: Any, args: tuple = ()) -> list:
    """The futures a callback would touch: in its arguments, its closure, or its bound object."""
    found = [a for a in args if _is_future(a)]
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if _is_future(value):
            found.append(value)
    owner = getattr(callback, "__self__", None)
    if _is_future(owner):
        found.append(owner)
    return found


def _short(value: Any) -> str:
    if _is_future(value):
        return f"«{value.name}»"
    text = repr(value)
    return text if len(text) <= 32 else text[:29] + "..."


def describe(callback: Any, args: tuple = ()) -> str:
    """A callback as a student reads it: ``step de «/page/1»``, ``listo → resuelve «leer /»``."""
    name = getattr(callback, "__name__", type(callback).__name__).replace("<lambda>", "lambda")
    owner = getattr(callback, "__self__", None)
    if owner is not None and not inspect.ismodule(owner):
        label = getattr(owner, "name", None) or getattr(owner, "key", None) or _path(getattr(owner, "url", None))
        if _is_future(owner) and not _is_task(owner) and name == "set_result":
            return f"set_result de «{label}»"
        name = f"{name} de «{label}»" if label else f"{type(owner).__name__}.{name}"
    shown = [_short(a) for a in args if not (_is_task(owner) and _is_future(a))]
    text = f"{name}({', '.join(shown)})" if shown else name
    closed = [f for f in _futures_in(callback) if f is not owner]
    if closed:
        text += " → resuelve " + ", ".join(f"«{f.name}»" for f in closed)
    return text


def _path(url: Any) -> str | None:
    return (urlsplit(url).path or "/") if isinstance(url, str) else None


def _where(task: Any) -> str:
    """Where the task's generator is suspended: the chain of generators and the innermost line."""
    frames, gen = [], task.coro
    while inspect.isgenerator(gen) and gen.gi_frame is not None:
        frames.append(gen.gi_frame)
        gen = gen.gi_yieldfrom
    frames = [f for f in frames if f.f_code.co_name != "__iter__"] or frames  # Future.__iter__ is plumbing
    if not frames:
        return ""
    inner = frames[-1]
    line = linecache.getline(inner.f_code.co_filename, inner.f_lineno).strip()
    chain = " → ".join(f.f_code.co_name for f in frames)
    return f"{chain}, línea {inner.f_lineno}" + (f": {line}" if line else "")


def _task_state(task: Any) -> str:
    if not task.done():
        return "suspendida"
    exc = task._exception
    if exc is None:
        return f"terminada: {_short(task._result)}"
    if type(exc).__name__ == "CancelledError":
        return "cancelada"
    return f"falló: {type(exc).__name__}"


@dataclass
class TaskView:
    name: str
    state: str     # suspendida, terminada: valor, falló: Error, cancelada
    where: str     # generator chain and source line ("" once done)
    waits: str     # the future it waits on


@dataclass
class Snapshot:
    """What the loop holds between two steps, as text."""
    clock: float                            # virtual seconds since the recording began
    ready: list[str]                        # the ready queue, first to run first
    watched: list[tuple[str, str, str]]     # (socket, evento, callback)
    timers: list[tuple[float, str]]         # (when, in seconds since the start; callback), nearest first
    tasks: list[TaskView]
    futures: list[tuple[str, str]]          # (pending future, who waits on it)


@dataclass
class Step:
    index: int
    turn: int
    kind: str                               # "inicio", "select" or "callback"
    what: str                               # one line: what happened
    events: list[str] = field(default_factory=list)   # select: the sockets it returned
    resumed: list[str] = field(default_factory=list)  # callback: the tasks it resumed
    cancelled: list[str] = field(default_factory=list)  # callback: the tasks a cancel reached
    after: Snapshot | None = None


class Stepper:
    """Drive ``loop`` step by step (as ``run_once`` does) and record a :class:`Step` each time."""

    def __init__(self, loop, tasks: list | None = None, timeout: float = 30.0, max_steps: int = 2000):
        self.loop, self.tasks = loop, tasks if tasks is not None else []
        self.t0 = loop.time()
        self.deadline, self.max_steps = self.t0 + timeout, max_steps
        self.turn, self.left = 0, 0          # the current turn, and its callbacks not run yet
        self._labels: dict[int, str] = {}    # id(socket) -> "socket N", in order of first sight
        self._keep: list = []                # the labelled sockets (so ids are not reused)
        self._events: list = []
        previous = loop.on_turn

        def seen(lp, events):
            self._events = list(events)
            if previous is not None:
                previous(lp, events)
        loop.on_turn = seen
        self.steps: list[Step] = [Step(0, 0, "inicio", "estado inicial", after=self.snapshot())]

    # -- the model -----------------------------------------------------------------

    def _label(self, sock) -> str:
        if id(sock) not in self._labels:
            self._labels[id(sock)] = f"socket {len(self._labels) + 1}"
            self._keep.append(sock)
        return self._labels[id(sock)]

    def all_tasks(self) -> list:
        """The tasks given, and every task found waiting on a future or a task (in order)."""
        found, queue = [], list(self.tasks)
        for _when, _n, timer in self.loop.timers:
            queue += _futures_in(timer.callback, timer.args)
        for key in self.loop.selector.get_map().values():
            queue += _futures_in(key.data)
        while queue:
            obj = queue.pop(0)
            if not _is_future(obj) or any(obj is f for f in found):
                continue
            if _is_task(obj):
                found.append(obj)
                if obj.waiting_on is not None:
                    queue.append(obj.waiting_on)
            for cb in obj._callbacks:
                queue.append(getattr(cb, "__self__", None))
        return found

    def _pending_futures(self, tasks: list) -> list[tuple[str, str]]:
        rows = []
        for task in tasks:
            fut = task.waiting_on
            if fut is None or fut.done() or _is_task(fut):
                continue
            others = [describe(cb) for cb in fut._callbacks if getattr(cb, "__self__", None) is not task]
            rows.append((f"«{fut.name}»", "; ".join([f"la tarea «{task.name}»"] + others)))
        return rows

    def snapshot(self) -> Snapshot:
        loop = self.loop
        ready = []
        for callback, args, key in loop.ready:
            text = describe(callback, args)
            ready.append(f"{text} ({self._label(key.fileobj)})" if key is not None else text)
        watched = [(self._label(key.fileobj), EVENT_NAMES.get(key.events, str(key.events)), describe(key.data))
                   for key in loop.selector.get_map().values()]
        timers = [(when - self.t0, describe(t.callback, t.args))
                  for when, _n, t in sorted(loop.timers, key=lambda x: x[:2]) if not t.cancelled]
        tasks = self.all_tasks()
        views = [TaskView(t.name, _task_state(t), "" if t.done() else _where(t),
                          "" if t.waiting_on is None else f"«{t.waiting_on.name}»") for t in tasks]
        return Snapshot(loop.time() - self.t0, ready, watched, timers, views, self._pending_futures(tasks))

    # -- driving -----------------------------------------------------------------------

    def finished(self) -> bool:
        return self.left == 0 and not self.loop.pending()

    def _marks(self) -> dict:
        return {id(t): (t, t.done(), id(t.waiting_on), t.waiting_on, _where(t)) for t in self.all_tasks()}

    def step(self) -> Step:
        """One step: the ``select`` of a new turn, or the next callback of this one."""
        if self.finished():
            raise RuntimeError("el bucle ya terminó: no queda nada pendiente")
        if len(self.steps) > self.max_steps:
            raise RuntimeError(f"más de {self.max_steps} pasos")
        if self.left == 0:
            return self._select()
        return self._callback()

    def _select(self) -> Step:
        wait = self.loop._wait(self.deadline)
        self.turn += 1
        self.left = self.loop.poll(self.deadline)
        events = [f"{self._label(key.fileobj)} ({EVENT_NAMES.get(mask & key.events, str(mask))})"
                  for key, mask in self._events]
        returned = ", ".join(events) if events else "nada"
        step = Step(len(self.steps), self.turn, "select", f"select(espera máx. {seg(wait)}) → {returned}", events)
        return self._record(step)

    def _callback(self) -> Step:
        callback, args, key = self.loop.ready[0]
        text = describe(callback, args) + (f" ({self._label(key.fileobj)})" if key is not None else "")
        stale = key is not None and not self.loop._current(key)
        before = self._marks()
        self.loop.run_next()
        self.left -= 1
        if stale:
            text += ": omitido, su socket ya no se vigila"
        after = self._marks()
        resumed, cancelled = [], []
        for tid, (task, done, wid, waited, where) in before.items():
            now = after.get(tid)
            if now is not None and (now[1], now[2], now[4]) != (done, wid, where):
                resumed.append(task.name)
                if waited is not None and waited.done() and type(waited._exception).__name__ == "CancelledError":
                    cancelled.append(task.name)
        step = Step(len(self.steps), self.turn, "callback", text, resumed=resumed, cancelled=cancelled)
        return self._record(step)

    def _record(self, step: Step) -> Step:
        step.after = self.snapshot()
        self.steps.append(step)
        if self.left == 0 and self.loop.pending() and self.loop.time() >= self.deadline:
            raise TimeoutError(f"el bucle sigue esperando tras {self.deadline - self.t0} s")
        return step

    def run(self) -> list[Step]:
        """Step until nothing is pending; return every step recorded."""
        while not self.finished():
            self.step()
        return self.steps


# -- "¿Qué pasa ahora?" -----------------------------------------------------------------------

QUESTION_TEXT = {
    "select": "¿Qué devolverá select en la vuelta {turn}?",
    "callback": "¿Qué callback corre ahora?",
    "tarea": "¿Qué corrutina se reanuda ahora?",
    "cancel": "¿A qué tarea llega la cancelación?",
}
NOTHING = {"select": "nada", "tarea": "ninguna", "cancel": "a ninguna"}


@dataclass
class Question:
    """A prediction asked before one step: ``kind`` is select, callback, tarea or cancel;
    ``turn`` the turn, ``nth`` which callback of that turn (for the callback kinds)."""
    kind: str
    turn: int
    why: str
    nth: int = 1
    text: str = ""
    step: int = -1                       # filled by attach(): the step it asks about
    options: list[str] = field(default_factory=list)
    answer: str = ""

    def attach(self, steps: list[Step]) -> "Question":
        """Find the step, and read its options and its answer from the recording."""
        if self.kind not in QUESTION_TEXT:
            raise ValueError(f"tipo de pregunta desconocido: {self.kind!r}")
        wanted = "select" if self.kind == "select" else "callback"
        matches = [s for s in steps if s.turn == self.turn and s.kind == wanted]
        if len(matches) < (1 if wanted == "select" else self.nth):
            raise ValueError(f"la vuelta {self.turn} no tiene ese paso ({self.kind}, n.º {self.nth})")
        step = matches[0] if wanted == "select" else matches[self.nth - 1]
        before = steps[step.index - 1].after
        self.step, self.text = step.index, self.text or QUESTION_TEXT[self.kind].format(turn=self.turn)
        if self.kind == "select":
            singles = [f"{sock} ({event})" for sock, event, _cb in before.watched]
            options = singles + ([", ".join(singles)] if len(singles) > 1 else [])
            self.answer = ", ".join(step.events) or NOTHING["select"]
        elif self.kind == "callback":
            options = list(dict.fromkeys(before.ready))
            self.answer = step.what
        else:
            options = [t.name for t in before.tasks if t.state == "suspendida"]
            names = step.resumed if self.kind == "tarea" else step.cancelled
            self.answer = " y ".join(names) or NOTHING[self.kind]
        options = options + [NOTHING[self.kind]] if self.kind in NOTHING else options
        self.options = options if self.answer in options else options + [self.answer]
        return self

    def check(self, choice: str) -> tuple[bool, str]:
        """Whether ``choice`` is what happened, and the one-line why."""
        if choice == self.answer:
            return True, f"¡Bien! {self.why}"
        return False, f"No: {self.answer}. {self.why}"


Pregunta = Question  # the name the notebooks use


# -- for readers without a kernel ---------------------------------------------------------------


def _owner(what: str) -> str:
    """The row of a callback that resumed no task: the «name» it belongs to, or its function."""
    head = what.split(" → ")[0]
    return head.split("«")[1].split("»")[0] if "«" in head else head.split("(")[0]


def timeline_rows(steps: list[Step]) -> tuple[int, dict[str, set[int]]]:
    """The turns, and for each task (or callback owner, where no task resumed) the turns it ran in."""
    rows: dict[str, set[int]] = {}
    for step in steps:
        if step.kind != "callback":
            continue
        for who in step.resumed or [_owner(step.what)]:
            rows.setdefault(who, set()).add(step.turn)
    return max((s.turn for s in steps), default=0), rows


def timeline_text(steps: list[Step]) -> str:
    turns, rows = timeline_rows(steps)
    width = max((len(r) for r in rows), default=6)
    head = f"{'vuelta':<{width}} " + "".join(f"{t:>3}" for t in range(1, turns + 1))
    lines = [f"{who:<{width}} " + "".join("  ▶" if t in ran else "  ·" for t in range(1, turns + 1))
             for who, ran in rows.items()]
    return "\n".join([head] + lines)


def table(steps: list[Step], width: int = 110) -> str:
    """The recorded steps, one line each: paso, vuelta, reloj, qué pasó, a quién reanudó."""
    out = [f"{'paso':>4} {'vuelta':>6} {'reloj':>7}  qué pasó"]
    for s in steps[1:]:
        line = f"{s.index:>4} {s.turn:>6} {seg(s.after.clock):>7}  {s.what}"
        if s.resumed:
            line += f"  ▶ {', '.join(s.resumed)}"
        if s.cancelled:
            line += f"  ✗ cancelación a {', '.join(s.cancelled)}"
        out.append(line if len(line) <= width else line[:width - 1] + "…")
    return "\n".join(out)
