"""`python -m zoo.train`: the command; it lives in `zoo.commands.train`."""

import sys

from zoo.commands.train import main

if __name__ == "__main__":
    sys.exit(main())
