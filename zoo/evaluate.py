"""`python -m zoo.evaluate`: the command; it lives in `zoo.commands.evaluate`."""

import sys

from zoo.commands.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
