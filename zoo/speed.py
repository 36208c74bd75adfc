"""`python -m zoo.speed`: the command; it lives in `zoo.commands.speed`."""

import sys

from zoo.commands.speed import main

if __name__ == "__main__":
    sys.exit(main())
