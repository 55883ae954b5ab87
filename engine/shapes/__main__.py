"""``python -m engine.shapes generate OUT --videos N --seed S``"""
from __future__ import annotations

import sys

from engine.shapes.cli import main

if __name__ == "__main__":
    sys.exit(main())
