"""Stop with a clear message unless this Python is 3.11 or newer (``make`` runs
it with the interpreter it is about to build the virtualenv from). Keep this
file runnable by old Pythons: no syntax newer than 3.0."""

import sys

if sys.version_info < (3, 11):
    sys.exit("Hace falta Python 3.11 o más nuevo (este es %d.%d). Indica otro con, por ejemplo: "
             "make lab PYTHON=python3.12" % sys.version_info[:2])
