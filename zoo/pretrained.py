"""`python -m zoo.pretrained`: the command; it lives in `zoo.inference.pretrained`."""

import sys

from zoo.inference.pretrained import main

if __name__ == "__main__":
    sys.exit(main())
