"""Virtual time for the toy loop, for the tests: it lives in support.kernel.virtual_time
(the stepper of notebooks 02 and 04 uses it too); imported here, not copied. And for asyncio
(``looptime``): a coroutine run in virtual time, and an aiohttp server on its loop."""

import asyncio

from support.kernel.virtual_time import SteadySelector, VirtualClock, VirtualSelector, virtual_loop

__all__ = ["VirtualClock", "VirtualSelector", "SteadySelector", "virtual_loop"]


async def serve_here(handler):
    """``handler`` served by aiohttp on the running loop, so virtual time (looptime) reaches the
    server too: (runner, root URL). The caller cleans up with ``await runner.cleanup()``."""
    from aiohttp import web

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"


def run_in_virtual_time(main):
    """``main()`` run on a ``looptime`` loop starting at 0 s: its sleeps and timeouts cost no wall time."""
    import looptime

    with asyncio.Runner(loop_factory=lambda: looptime.new_event_loop(start=0)) as runner:
        return runner.run(main())
