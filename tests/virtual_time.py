"""Virtual time for the toy loop, for the tests: it lives in support.kernel.virtual_time
(the stepper of notebooks 02 and 04 uses it too); imported here, not copied."""

from support.kernel.virtual_time import SteadySelector, VirtualClock, VirtualSelector, virtual_loop

__all__ = ["VirtualClock", "VirtualSelector", "SteadySelector", "virtual_loop"]
