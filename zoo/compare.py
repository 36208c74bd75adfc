"""`python -m zoo.compare`: the command; it lives in `zoo.commands.compare`."""

import sys

from zoo.commands.compare import main

if __name__ == "__main__":
    sys.exit(main())
