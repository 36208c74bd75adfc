"""`python -m zoo.serve`: the command; it lives in `zoo.commands.serve`."""

import sys

from zoo.commands.serve import main

if __name__ == "__main__":
    sys.exit(main())
