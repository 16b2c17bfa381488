"""``python -m lookbook.cli``: the same entry point as the ``lookbook`` script."""

import sys

from lookbook.cli import main

sys.exit(main())
