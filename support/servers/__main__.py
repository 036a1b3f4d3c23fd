"""``python -m support.servers ROLE``: see :func:`support.servers.process.main`."""

from support.servers.process import main

main()
