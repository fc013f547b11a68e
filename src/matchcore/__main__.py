"""``python -m matchcore``: the same as the ``matchcore`` command."""

import sys

from .cli.main import main

sys.exit(main())
