"""`python -m zoo.pretrained`: the command; it lives in `zoo.commands.pretrained`."""

import sys

from zoo.commands.pretrained import main

if __name__ == "__main__":
    sys.exit(main())
