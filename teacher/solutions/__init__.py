"""Reference solutions of the exercises, one module per notebook.

Each module defines, for every exercise ``"NN.name"`` of its notebook, a
function or value ``name`` (the solution) and an entry in ``WRONG_ANSWERS``
(``{"NN.name": [wrong, wrong, ...]}``) with typical mistakes the checker must
reject. ``tests/test_exercises.py`` runs all of them.
"""
