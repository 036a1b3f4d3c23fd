"""The teacher's side of the course: what students must not get.

* ``teacher/solutions/nbNN.py``: reference solutions and named wrong answers
  of each notebook's exercises (``tests/test_exercises.py`` proves every
  checker accepts the former and rejects the latter).
* ``teacher/nbgrader/``: the grading flow (``python -m teacher.grading``).

Not a package of ``pyproject.toml``; removed from the Binder image by
``binder/postBuild`` and left out of the student build (``make student``).
"""
