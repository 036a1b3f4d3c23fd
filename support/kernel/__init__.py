"""The toy kernel of notebooks 02 and 04: the hand-written event loop (and, on it, Future and Task).

Floor: imports only the foundations (support.fmt, support.osutil, support.timeline)."""
