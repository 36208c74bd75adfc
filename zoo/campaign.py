"""`python -m zoo.campaign`: the command; it lives in `zoo.commands.campaign`."""

import sys

from zoo.commands.campaign import main

if __name__ == "__main__":
    sys.exit(main())
