"""`python -m zoo.report`: the command; it lives in `zoo.reporting.report`."""

import sys

from zoo.reporting.report import main

if __name__ == "__main__":
    sys.exit(main())
