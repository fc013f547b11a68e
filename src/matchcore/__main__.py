"""``python -m matchcore``: the same as the ``matchcore`` command."""

import sys

from .cli import main

sys.exit(main())
