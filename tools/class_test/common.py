"""The class test's paths and the marks it counts in the lessons' output."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "class-test"
CONFIG = ROOT / "tools" / "class_hub" / "jupyterhub_config.py"
PROXY = ROOT / "build" / "js" / "node_modules" / ".bin" / "configurable-http-proxy"
HEAVIEST = ("01", "08", "09")
MEANINGLESS = "no es una medida"  # what support.measure.c10k.meaningful warns instead of asserting
BUSY = "la máquina estaba ocupada"  # what support.fmt.ocupada prints instead of asserting a timing comparison
CELL_TIMEOUT = 600.0
WARNING = re.compile(r"\w*Warning: .*")  # a warning's category and text, without the kernel's file name
