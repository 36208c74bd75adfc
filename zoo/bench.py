"""`python -m zoo.bench`: the command; it lives in `zoo.fitting.bench`."""

import sys

from zoo.fitting.bench import main

if __name__ == "__main__":
    sys.exit(main())
