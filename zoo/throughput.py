"""`python -m zoo.throughput`: the command; it lives in `zoo.commands.throughput`."""

import sys

from zoo.commands.throughput import main

if __name__ == "__main__":
    sys.exit(main())
