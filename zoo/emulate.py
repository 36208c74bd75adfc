"""`python -m zoo.emulate`: the command; it lives in `zoo.commands.emulate`."""

import sys

from zoo.commands.emulate import main

if __name__ == "__main__":
    sys.exit(main())
