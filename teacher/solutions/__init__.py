"""Reference solutions of the exercises, one module per notebook.

Each module defines, for every exercise ``"NN.name"`` of its notebook, a
function or value ``name`` (the solution) and an entry in ``WRONG_ANSWERS``
(``{"NN.name": [wrong, (wrong, "words"), ...]}``) with typical mistakes the checker must
reject; with ``"words"``, the verdict must contain them (it names the mistake). ``tests/test_exercises.py`` runs all of them.
"""
