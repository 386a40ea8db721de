"""``python -m beltline.cli``: the same as ``beltline``."""

import sys

from beltline.cli import main

sys.exit(main())
