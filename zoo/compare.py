"""`python -m zoo.compare`: the command; it lives in `zoo.grids.compare`."""

import sys

from zoo.grids.compare import main

if __name__ == "__main__":
    sys.exit(main())
