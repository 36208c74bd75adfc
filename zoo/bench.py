"""`python -m zoo.bench`: the command; it lives in `zoo.commands.bench`."""

import sys

from zoo.commands.bench import main

if __name__ == "__main__":
    sys.exit(main())
