"""`python -m zoo.study`: the command; it lives in `zoo.commands.study`."""

import sys

from zoo.commands.study import main

if __name__ == "__main__":
    sys.exit(main())
