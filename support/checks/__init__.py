"""Exercise checkers, one module per notebook (nb01.py, nb02.py, ...)."""
