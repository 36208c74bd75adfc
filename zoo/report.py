"""`python -m zoo.report`: the command; it lives in `zoo.commands.report`."""

import sys

from zoo.commands.report import main

if __name__ == "__main__":
    sys.exit(main())
