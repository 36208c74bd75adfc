"""`python -m zoo.campaign`: the command; it lives in `zoo.grids.campaign`."""

import sys

from zoo.grids.campaign import main

if __name__ == "__main__":
    sys.exit(main())
