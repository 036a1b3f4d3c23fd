"""Graded mode: the verdict that a grade rests on, out of the student's reach.

:func:`support.exercises.check` runs in the student's kernel, where the answer
can see, and change, everything: the checker's data (``nb01._CASES``), the
checker itself (``nb03.expect = lambda *a, **k: None``). That is fine for quick
feedback; a grade needs more. :func:`grade` (what ``teacher.grading`` puts in
nbgrader's test cells) therefore

* takes the answer's SOURCE (:func:`answer_source`: the answer and what it uses
  from the notebook, copied; modules and library functions re-imported);
* inspects it (:func:`inspect_source`): what no answer may touch (the checkers,
  the teacher's files, the reference implementation, frames and ``sys.modules``)
  and what an exercise forbids (:data:`RULES`: ``time.sleep`` inside
  ``async def``, a hidden generator, a blocking socket, ``yield from`` missing);
* checks it in a fresh process (``python -m support.exercises.graded``) that
  imports the checker itself, with the inputs drawn at random for this run
  (:data:`support.exercises.guards.SEED`, printed in the verdict);
* reads back only the line that carries this run's nonce.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import json
import linecache
import pickle
import secrets
import subprocess
import sys
import textwrap
import types
import warnings
from dataclasses import asdict, replace
from typing import Any, Callable

from support.exercises import PENDING, WRONG, Verdict, describe_error, guards, run_check

__all__ = ["grade", "answer_source", "inspect_source", "RULES", "Ungradable"]

#: What an answer may not import or reach: the checkers, the teacher's side, the reference.
FORBIDDEN_MODULES = ("support.checks", "support.exercises", "teacher", "support.measure.simulate")
#: Names, and dotted names, that only serve to read or bend the checker's process.
FORBIDDEN_NAMES = {"ideal_time", "answer_digest", "_RIGHT", "_CASES", "PAYLOAD", "_PAGES", "__import__",
                   "importlib", "f_back", "f_globals", "f_locals", "gi_frame", "cr_frame", "tb_frame"}
FORBIDDEN_DOTTED = {"sys.modules", "sys._getframe", "gc.get_objects", "gc.get_referrers", "inspect.stack",
                    "inspect.currentframe", "os._exit", "builtins.__import__"}


class Ungradable(Exception):
    """The answer cannot be copied out of the kernel (e.g. its source is not available)."""


# -- the answer's source ----------------------------------------------------------------


def _bound_names(tree: ast.AST) -> set[str]:
    """Names a piece of code binds itself (parameters, assignments, imports, defs)."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound


def _free_names(source: str) -> list[str]:
    tree = ast.parse(source)
    bound = _bound_names(tree)
    used = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    return list(dict.fromkeys(n for n in used if n not in bound and not hasattr(builtins, n)))


def _importable(obj: Any, copied: tuple[str, ...]) -> str | None:
    """``module`` if ``obj`` is what ``from module import name`` gives, else None."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", "")
    if not module or module in copied or "." in name or "<" in name:
        return None
    return module if getattr(sys.modules.get(module), name, None) is obj else None


def _literal(value: Any) -> bool:
    try:
        return ast.literal_eval(repr(value)) == value
    except Exception:
        return False


def _pickled(value: Any) -> bytes | None:
    """``value`` pickled, if it comes back equal in kind (a counter, a dataclass of data).
    What 3.12 and 3.13 pickle with a DeprecationWarning (itertools objects) counts as not
    picklable, as on 3.14, which refuses it: one verdict on every Python."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            data = pickle.dumps(value)
        return data if type(pickle.loads(data)) is type(value) else None
    except Exception:
        return None


def _collect(name: str, obj: Any, out: dict[str, str], copied: tuple[str, ...]) -> None:
    if name in out:
        return
    out[name] = ""  # placed first: a cycle of definitions stops here
    if isinstance(obj, types.ModuleType):
        out[name] = f"import {obj.__name__}" if name == obj.__name__ else f"import {obj.__name__} as {name}"
    elif (module := _importable(obj, copied)) is not None:
        real = obj.__qualname__
        out[name] = f"from {module} import {real}" + ("" if real == name else f" as {name}")
    elif inspect.isfunction(obj) or inspect.isclass(obj):
        source = _source_of(obj, name)
        scope = obj.__globals__ if inspect.isfunction(obj) else vars(sys.modules.get(obj.__module__, builtins))
        for free in _free_names(source):
            if free in scope:
                _collect(free, scope[free], out, copied)
        del out[name]  # after its dependencies
        out[name] = source + ("" if obj.__name__ == name else f"\n{name} = {obj.__name__}")
    elif _literal(obj):
        out[name] = f"{name} = {obj!r}"
    elif (data := _pickled(obj)) is not None:
        out[name] = f"import pickle as _pickle\n{name} = _pickle.loads({data!r})"
    else:
        del out[name]  # not copyable (a running server, a socket): the answer gets a NameError if it needs it


def _source_of(obj: Any, name: str) -> str:
    try:
        if inspect.isclass(obj):  # by its methods' lines: a cell may define the stub and the answer
            return _class_source(obj) or textwrap.dedent(inspect.getsource(obj))
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as exc:
        raise Ungradable(f"no encuentro el código de `{name}` ({exc}).") from None


def _class_source(cls: type) -> str | None:
    """The ``class`` statement that made ``cls``, found in the file (or notebook cell) of
    one of its methods, at that method's line."""
    for member in vars(cls).values():
        code = getattr(member, "__code__", None)
        text = "".join(linecache.getlines(code.co_filename)) if code else ""
        try:
            tree = ast.parse(text) if text else None
        except SyntaxError:
            tree = None
        for node in ast.walk(tree) if tree else ():
            if (isinstance(node, ast.ClassDef) and node.name == cls.__name__
                    and node.lineno <= code.co_firstlineno <= node.end_lineno):
                return textwrap.dedent(ast.get_source_segment(text, node, padded=True))
    return None


def answer_source(answer: Any, copied: tuple[str, ...] = ("__main__",)) -> str:
    """The source of ``answer`` and of what it uses from its notebook (the modules in
    ``copied``: the kernel's ``__main__``), runnable on its own."""
    name = getattr(answer, "__name__", None)
    if not isinstance(name, str) or not (inspect.isfunction(answer) or inspect.isclass(answer)):
        raise Ungradable("la respuesta no es una función ni una clase.")
    parts: dict[str, str] = {}
    _collect(name, answer, parts, copied)
    return "\n\n".join(code for code in parts.values() if code) + "\n"


# -- what an answer may not do --------------------------------------------------------


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _forbidden_anywhere(tree: ast.Module, _name: str) -> str | None:
    for node in ast.walk(tree):
        modules = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Attribute):
            modules = [_dotted(node)]
        for module in modules:
            if module.startswith(FORBIDDEN_MODULES):
                return f"tu respuesta usa `{module}`: el checker y las soluciones no forman parte de la respuesta."
        word = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if isinstance(node, ast.alias):
            word = node.name
        if word in FORBIDDEN_NAMES or (isinstance(node, ast.Attribute) and _dotted(node) in FORBIDDEN_DOTTED):
            return (f"tu respuesta usa `{_dotted(node) if isinstance(node, ast.Attribute) else word}`, "
                    "que solo sirve para leer o cambiar el checker.")
    return None


def _sleep_in_async(tree: ast.Module, _name: str) -> str | None:
    sleeps = {"time.sleep"} | {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                               and n.module == "time" for a in n.names if a.name == "sleep"}
    for fn in ast.walk(tree):
        if isinstance(fn, ast.AsyncFunctionDef):
            for call in ast.walk(fn):
                if isinstance(call, ast.Call) and _dotted(call.func) in sleeps:
                    return (f"`{_dotted(call.func)}` dentro de `async def {fn.name}`: bloquea el bucle de eventos "
                            "(¿`time.sleep` dentro de `async def`?).")
    return None


def _needs(kind: type, what: str) -> Callable[[ast.Module, str], str | None]:
    def rule(tree: ast.Module, name: str) -> str | None:
        answer = next((n for n in tree.body if getattr(n, "name", None) == name), tree)
        return None if any(isinstance(n, kind) for n in ast.walk(answer)) else what
    return rule


def _no_hidden_generator(tree: ast.Module, _name: str) -> str | None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Yield, ast.YieldFrom, ast.GeneratorExp)):
            return ("Fibonacci usa un generador por dentro (`yield` o una expresión generadora): el ejercicio "
                    "pide el protocolo escrito a mano, con el estado en `self` y `__next__`.")
    return None


def _no_blocking_socket(tree: ast.Module, _name: str) -> str | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("settimeout", "create_connection"):
            return (f"usas `{node.attr}`: un socket bloqueante con tiempo de espera; el ejercicio pide un socket "
                    "no bloqueante y que el plazo lo cuente tu bucle con el selector.")
    return None


def _calls_param(param: str) -> Callable[[ast.Module, str], str | None]:
    def rule(tree: ast.Module, name: str) -> str | None:
        answer = next((n for n in tree.body if getattr(n, "name", None) == name), tree)
        called = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == param
                     for n in ast.walk(answer))
        return None if called else f"tu respuesta nunca llama a `{param}`: la decisión es suya, no tuya."
    return rule


def _no_transport(tree: ast.Module, _name: str) -> str | None:
    if any(isinstance(n, ast.Attribute) and n.attr == "transport" for n in ast.walk(tree)):
        return "escribes en `escritor.transport`, por debajo del escritor: usa `escritor.write` y `drain`."
    return None


#: Exercise -> what its answer's code may not do (beyond :func:`_forbidden_anywhere`).
RULES: dict[str, list[Callable[[ast.Module, str], str | None]]] = {
    "03.Fibonacci": [_no_hidden_generator],
    "03.total_de_tandas": [_needs(ast.YieldFrom, "total_de_tandas no usa `yield from`: el ejercicio es delegar "
                                                 "en tanda() con `yield from`, que reenvía cada send.")],
    "02.descargar_con_plazo": [_no_blocking_socket],
    "06.visitar_una_vez": [_calls_param("permitida")],
    "09.enviar_todo": [_no_transport],
}


def inspect_source(exercise: str, source: str, name: str) -> str | None:
    """What the answer's code does that it may not (a message), or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return f"tu respuesta no se puede leer: SyntaxError: {exc.msg} (línea {exc.lineno})."
    for rule in [_forbidden_anywhere, _sleep_in_async, *RULES.get(exercise, [])]:
        problem = rule(tree, name)
        if problem:
            return problem
    return None


# -- the two processes ------------------------------------------------------------------


def grade(exercise: str, answer: Any, seed: int | None = None, timeout: float | None = None,
          copied: tuple[str, ...] = ("__main__",)) -> Verdict:
    """The graded verdict on ``answer`` (see the module's docstring); printed, and returned.
    ``copied``: the modules whose code counts as the student's (tests add the teacher's)."""
    if answer is None or answer is Ellipsis:
        verdict = run_check(exercise, answer)
    else:
        try:
            source = answer_source(answer, copied)
        except Ungradable as exc:
            verdict = Verdict(exercise, WRONG, f"no se pudo calificar: {exc}", "Ejecuta la celda del ejercicio.")
        else:
            verdict = _in_fresh_process(exercise, source, answer.__name__,
                                        secrets.randbelow(10**6) if seed is None else seed, timeout)
    print(verdict)
    return replace(verdict, printed=True)


def _in_fresh_process(exercise: str, source: str, name: str, seed: int, timeout: float | None) -> Verdict:
    nonce = secrets.token_hex(16)
    request = json.dumps({"exercise": exercise, "source": source, "name": name, "seed": seed, "nonce": nonce,
                          "limit": guards.LIMIT})
    try:
        done = subprocess.run([sys.executable, "-m", "support.exercises.graded"], input=request, text=True,
                              capture_output=True, timeout=timeout or 12 * guards.LIMIT + 30)
    except subprocess.TimeoutExpired:
        return Verdict(exercise, WRONG, f"la comprobación no terminó a tiempo (semilla {seed}).", "")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(nonce + " "):
            return Verdict(**json.loads(line[len(nonce) + 1:]))
    return Verdict(exercise, WRONG, f"la comprobación terminó sin veredicto (semilla {seed}): "
                                    f"{done.stderr.strip()[-300:]}", "")


def _judge(request: dict) -> Verdict:
    exercise, source, name, seed = (request[k] for k in ("exercise", "source", "name", "seed"))
    guards.LIMIT = request.get("limit", guards.LIMIT)  # the caller's one setting
    importlib.import_module(f"support.checks.nb{exercise.split('.')[0]}")  # before the answer's code runs
    guards.SEED = seed
    problem = inspect_source(exercise, source, name)
    if problem:
        return Verdict(exercise, WRONG, problem, "El ejercicio pide resolverlo así; reescribe esa parte.")
    filename = f"<respuesta {exercise}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": "__respuesta__"}
    try:
        exec(compile(source, filename, "exec"), namespace)
    except Exception as exc:
        return Verdict(exercise, WRONG, f"tu código no se pudo ejecutar: {describe_error(exc)}", "")
    return run_check(exercise, namespace.get(name))


def main() -> None:
    request = json.load(sys.stdin)
    nonce = request.pop("nonce")
    verdict = _judge(request)
    if verdict.status != PENDING:
        verdict = replace(verdict, message=f"{verdict.message} (semilla {request['seed']})")
    fields = asdict(verdict)
    fields.pop("printed")
    sys.stdout.write(f"\n{nonce} {json.dumps(fields, ensure_ascii=False)}\n")
    sys.stdout.flush()
    import os

    os._exit(0)  # threads the answer left behind do not hold the verdict back


if __name__ == "__main__":
    main()
