"""``python -m tools.class_test``: see :mod:`tools.class_test`."""

import sys

from tools.class_test import main

sys.exit(main())
