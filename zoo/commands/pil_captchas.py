"""`python -m zoo.pil_captchas OUT [--count 3000] [--lengths 4-8] [--style distorted]`: a labeled
folder of captchas from a generator unlike ours (Pillow's own font, not the `captcha` package), to
try `python -m zoo.train --data folder:OUT` on images the zoo has never seen the like of.

Ten styles, all seeded (the same arguments draw the same folder):
* plain: the text in one piece, each image its own size (90-159 x 36-59), background and offset,
  three grey lines across;
* distorted: each character its own size, colour and rotation (+-30 degrees), characters
  overlapping, on a 140-219 x 48-71 image with speckle noise, two arcs and a slight blur;
* website: each character in its own font (the DejaVu and STIX faces that ship with matplotlib),
  size and strong colour, rotated up to 15 degrees, on near-white 80 px high, the width growing with
  the text (about 150-700 px), 2-5 thin lines across: generic website captchas. As the stream
  `data.source = "pil:website"` it is the synthetic set the `folder-base` head start trains on;
* website-cm: the website layout in faces the head start never saw (matplotlib's Computer Modern:
  roman, sans, typewriter, bold, italic), to measure how `folder-base` transfers to other fonts;
* captcha: the `captcha` package's drawing (the reference's generator) 60 px high, its width growing
  with the text (28 px a character plus a margin);
* wide: website-style glyphs, small (16-26 px) and in every face above, somewhere on a canvas 140-780 px
  wide and 80 px high, most of it empty, crossed by thin lines: generic site captchas
  (`data.resize = "ink-pad"` crops such images to their text);
* wide-hollow: wide with about half the characters hollow, drawn as their 1-2 px outline (the hollow
  faces of the real set in issue 35); no head start has seen hollow glyphs;
* mix: each image drawn in one of plain, distorted, website, wide (its faces without Computer Modern)
  and the `captcha` package at 50-100 px high, chosen at random: the broad stream
  (`data.source = "pil:mix"`) a head start that knows many fonts and layouts learns from; website-cm's
  faces stay out of it, so that set measures fonts it never saw;
* mix-hollow: mix with two more layouts, website and wide with about half their characters hollow
  (`data.source = "pil:mix-hollow"`, the stream `folder-mix-hollow` learned from);
* mix-varied: mix-hollow with four more layouts, website and wide, filled and half hollow, each glyph
  reshaped as another face might draw it (narrower or wider, slanted either way, sometimes bolder):
  more shapes of each character than our fifteen faces draw (`data.source = "pil:mix-varied"`).
Labels go into `labels.csv` (file,label) or, with `--names`, into the file names (`LABEL_0001.png`).
"""

from __future__ import annotations

import argparse
import string
import sys
from pathlib import Path

from zoo import cli
from zoo.data.pil_captchas import STYLES, draw_folder, label_name


def _lengths(text: str) -> tuple[int, int]:
    try:
        low, _, high = text.partition("-")
        return int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"lengths must look like 4-8 or 5, got {text!r}") from None

def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.pil_captchas", __doc__)
    parser.add_argument("out", type=Path, help="folder to write (created; existing files of the same names are replaced)")
    parser.add_argument("--count", type=int, default=3000, help="images to draw (default 3000)")
    parser.add_argument("--lengths", type=_lengths, default=(4, 8), help="label lengths, e.g. 4-8 (default) or 5")
    parser.add_argument("--charset", default=string.digits + string.ascii_uppercase,
                        help="characters the labels are drawn from (default 0-9A-Z)")
    parser.add_argument("--style", choices=STYLES, default="distorted", help="how the images look (see above; default distorted)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed and arguments draw the same folder (default 0)")
    parser.add_argument("--names", action="store_true", help="labels in the file names instead of labels.csv")
    args = parser.parse_args(argv)
    try:
        labels = draw_folder(args.out, args.count, args.lengths, args.charset, args.seed, args.style,
                             name=label_name if args.names else (lambda label, index: f"{index:05d}.png"),
                             labels_csv=not args.names)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(labels)} images to {args.out} ({args.style}, lengths {args.lengths[0]}-{args.lengths[1]}, "
          f"{len(set(''.join(labels)))} characters); train: python -m zoo.train --data folder:{args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
