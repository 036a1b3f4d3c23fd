"""``python -m support.osutil``: what a fresh process reads (one line of JSON)."""

import json

from support.osutil import readings

print(json.dumps(readings()))
