"""`python -m zoo.import_runs`: the command; it lives in `zoo.commands.import_runs`."""

import sys

from zoo.commands.import_runs import main

if __name__ == "__main__":
    sys.exit(main())
