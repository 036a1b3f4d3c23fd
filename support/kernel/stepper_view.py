"""The stepper's window: ipywidgets buttons over a recording of :mod:`support.kernel.stepper`.

``vista(pasos, preguntas)`` returns a widget: "Siguiente callback", "Siguiente
vuelta" (one ``select`` and what it returned), "Hasta el final" and
"Reiniciar" move through the recorded steps; the view shows, in Spanish, the
ready queue, the selector's registrations, the timer heap, the tasks (state
and suspended line), the pending futures (and who waits on each) and the
timeline of turns so far. Before a step that has a :class:`Question`, the
cursor stops once and asks "¿Qué pasa ahora?"; "Comprobar" reveals the answer
with its why. Nothing waits for an answer: pressing on goes on.

The view only reads the recording, so it never changes what the loop did;
:class:`Vista` keeps the logic (which step each button reaches, which question
is open) apart from the drawing, for the tests.
"""

from __future__ import annotations

import html

from support.fmt import seg
from support.kernel.stepper import Question, Step, timeline_rows

__all__ = ["Vista", "vista"]


def _table(title: str, head: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f"<b>{title}</b><div class='vacio'><i>{empty}</i></div>"
    th = "".join(f"<th style='text-align:left;padding:0 8px'>{html.escape(h)}</th>" for h in head)
    def td(i: int, c: str) -> str:
        wrap = "normal" if i == len(head) - 1 else "nowrap"  # only the last column wraps
        return f"<td style='padding:0 8px;white-space:{wrap}'><code>{html.escape(c)}</code></td>"
    trs = "".join("<tr>" + "".join(td(i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<b>{title}</b><table class='stepper-tabla'><tr>{th}</tr>{trs}</table>"


def _timeline_html(steps: list[Step]) -> str:
    turns, rows = timeline_rows(steps)
    if not rows:
        return "<b>Línea de tiempo</b> <i>(todavía vacía)</i>"
    head = "".join(f"<th style='padding:0 3px'>{t}</th>" for t in range(1, turns + 1))
    body = "".join(f"<tr><td style='padding-right:8px'><code>{html.escape(who)}</code></td>"
                   + "".join(f"<td style='text-align:center'>{'▶' if t in ran else '·'}</td>"
                             for t in range(1, turns + 1)) + "</tr>" for who, ran in rows.items())
    return f"<b>Línea de tiempo</b> (columnas: vueltas)<table><tr><th></th>{head}</tr>{body}</table>"


class Vista:
    """The cursor over a recording, and the HTML for the step it points at (no widgets here)."""

    def __init__(self, steps: list[Step], questions: list[Question] = ()):
        self.steps = steps
        self.questions = {q.attach(steps).step: q for q in questions}
        self.cursor = 0                 # the last step already run (0: the initial state)
        self.last: list[Step] = []      # the steps the last button ran
        self.asked: set[int] = set()    # questions already shown once
        self._arrive()

    def open_question(self) -> Question | None:
        """The question about the next step (shown once the cursor arrives just before it)."""
        return self.questions.get(self.cursor + 1)

    def _advance(self, done, stop_at_questions: bool = True) -> None:
        start = i = self.cursor
        while i + 1 < len(self.steps):
            i += 1
            if done(self.steps[i]):
                break
            if stop_at_questions and i + 1 in self.questions and i + 1 not in self.asked:
                break                   # a question not asked yet is next: stop and ask it
        self.last, self.cursor = self.steps[start + 1:i + 1], i
        self._arrive()

    def _arrive(self) -> None:
        if self.cursor + 1 in self.questions:
            self.asked.add(self.cursor + 1)

    def next_callback(self) -> None:
        self._advance(lambda s: s.kind == "callback")

    def next_turn(self) -> None:
        self._advance(lambda s: s.kind == "select")

    def to_end(self) -> None:
        self._advance(lambda s: False, stop_at_questions=False)

    def reset(self) -> None:
        self.cursor, self.last, self.asked = 0, [], set()
        self._arrive()

    # -- drawing ------------------------------------------------------------------------

    def header(self) -> str:
        step = self.steps[self.cursor]
        end = " · <b>fin: no queda nada pendiente</b>" if self.cursor == len(self.steps) - 1 else ""
        return (f"<div class='stepper-paso'><b>Paso {self.cursor} de {len(self.steps) - 1}</b> · vuelta {step.turn}"
                f" · reloj {seg(step.after.clock)}{end}</div>")

    def happened(self) -> str:
        if not self.last:
            return "<i>Todavía no pasó nada: pulsa un botón.</i>"
        items = []
        for s in self.last:
            extra = f" ▶ reanuda {', '.join(s.resumed)}" if s.resumed else ""
            extra += f" ✗ la cancelación llega a {', '.join(s.cancelled)}" if s.cancelled else ""
            items.append(f"<li>vuelta {s.turn}: <code>{html.escape(s.what)}</code>{html.escape(extra)}</li>")
        return "<b>Acaba de pasar</b><ul class='stepper-pasado'>" + "".join(items) + "</ul>"

    def state(self) -> str:
        snap = self.steps[self.cursor].after
        cells = [
            _table("Cola de listos (ready)", ["#", "callback"], [[str(i + 1), r] for i, r in enumerate(snap.ready)],
                   "vacía"),
            _table("Selector: sockets vigilados", ["socket", "evento", "callback"], [list(w) for w in snap.watched],
                   "ninguno"),
            _table("Temporizadores (heap)", ["vence a los", "callback"], [[seg(w), what] for w, what in snap.timers],
                   "ninguno"),
            _table("Futuros pendientes", ["futuro", "quién espera"], [list(f) for f in snap.futures], "ninguno"),
        ]
        tasks = _table("Tareas", ["tarea", "estado", "suspendida en"], [[t.name, t.state, t.where] for t in snap.tasks],
                       "ninguna: aquí solo hay callbacks")
        grid = "".join(f"<div>{c}</div>" for c in cells) + f"<div style='grid-column:1 / span 2'>{tasks}</div>"
        return ("<div class='stepper-estado' style='display:grid;grid-template-columns:auto auto;"
                f"justify-content:start;gap:8px 32px'>{grid}</div>")

    def timeline(self) -> str:
        return _timeline_html(self.steps[:self.cursor + 1])


def vista(steps: list[Step], questions: list[Question] = ()):
    """The widget: buttons, the question box and the view of the current step."""
    import ipywidgets as widgets

    model = Vista(steps, questions)
    header, happened, state, timeline = (widgets.HTML() for _ in range(4))
    question, verdict = widgets.HTML(), widgets.HTML()
    choices = widgets.RadioButtons(options=[], layout=widgets.Layout(width="auto"))
    check = widgets.Button(description="Comprobar", button_style="info")
    box = widgets.VBox([question, choices, check, verdict], layout=widgets.Layout(border="1px solid #ccc", padding="4px"))
    box.add_class("stepper-pregunta")

    def draw(*_):
        header.value, happened.value = model.header(), model.happened()
        state.value, timeline.value = model.state(), model.timeline()
        q = model.open_question()
        box.layout.display = None if q else "none"
        if q:
            question.value = f"<b>¿Qué pasa ahora?</b> {html.escape(q.text)}"
            choices.options, choices.value, verdict.value = q.options, None, ""

    def on_check(_):
        q = model.open_question()
        if q is None or choices.value is None:
            verdict.value = "<i>Elige una respuesta.</i>"
            return
        ok, why = q.check(choices.value)
        verdict.value = f"<span style='color:{'green' if ok else '#b00'}'>{html.escape(why)}</span>"

    buttons = []
    for label, action in [("Siguiente callback", model.next_callback), ("Siguiente vuelta", model.next_turn),
                          ("Hasta el final", model.to_end), ("Reiniciar", model.reset)]:
        button = widgets.Button(description=label)
        button.on_click(lambda _b, action=action: (action(), draw()))
        buttons.append(button)
    check.on_click(on_check)
    draw()
    view = widgets.VBox([header, widgets.HBox(buttons), happened, box, state, timeline])
    view.add_class("stepper-view")
    return view
