"""`python -m zoo.pil_captchas`: the command; it lives in `zoo.commands.pil_captchas`."""

import sys

from zoo.commands.pil_captchas import main

if __name__ == "__main__":
    sys.exit(main())
