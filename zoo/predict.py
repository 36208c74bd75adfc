"""`python -m zoo.predict`: the command; it lives in `zoo.commands.predict`."""

import sys

from zoo.commands.predict import main

if __name__ == "__main__":
    sys.exit(main())
