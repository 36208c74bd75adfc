"""`python -m zoo.study`: the command; it lives in `zoo.studies.runner`."""

import sys

from zoo.studies.runner import main

if __name__ == "__main__":
    sys.exit(main())
