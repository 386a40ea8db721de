"""``python -m beltline``: the same as the ``beltline`` command."""

import sys

from beltline.cli import main

sys.exit(main())
