"""`python -m zoo.speed`: the command; it lives in `zoo.inference.speed`."""

import sys

from zoo.inference.speed import main

if __name__ == "__main__":
    sys.exit(main())
