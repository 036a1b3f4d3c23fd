"""The toy kernel of notebooks 02 and 04: the hand-written event loop (:mod:`.eventloop`)
and, on it, Future, Task, timers' sleep and timeouts, and straight-line socket I/O (:mod:`.tasks`).

Floor: imports only the foundations (support.fmt, support.osutil, support.timeline);
never web (its sibling): HTTP is the crawlers' business."""
