"""Shipped models, and loading any model the zoo can read: `zoo.load(spec)`.

A shipped model is a folder `zoo/pretrained/<name>/` with `model.keras`, `model.onnx` (the same
model for ONNX Runtime, checked to read the card's test set identically: zoo.inference.onnx_shipping),
`card.json` (what it reads, how it was trained, its test metrics, the sha256 of both files) and
`README.md` (the same card for people). Loading checks the sha256; `.keras` files load in Keras
safe mode. `zoo.load` reads `model.onnx` where there is one, so reading needs no TensorFlow.

    python -m zoo.pretrained                                  # list shipped models and their cards
    python -m zoo.pretrained --ship models:/zoo-bigru@champion --name bigru   # ship a tracked model
    python -m zoo.pretrained --onnx bigru                     # add (and check) model.onnx
    python -m zoo.pretrained --calibrate bigru                # fit its confidence's temperature
    python -m zoo.pretrained --sizes bigru                    # its accuracy at 160x60, 170x80, 200x70
    python -m zoo.pretrained --sizes bigru --resize keep      # ...read at the drawings' own scale, from now on
"""

from __future__ import annotations

import json
import sys

from zoo import cli
from zoo.data.images import RESIZES
from zoo.inference.pretrained import PRETRAINED_DIR, samples_in_all, shipped, shipped_card


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.pretrained", __doc__)
    parser.add_argument("--ship", metavar="MODEL_URI", help="a tracked model to ship (models:/..., runs:/...)")
    parser.add_argument("--name", help="the shipped model's name (with --ship)")
    parser.add_argument("--onnx", nargs="+", metavar="NAME", help="add model.onnx to these shipped models, checked "
                        "on each card's test set (zoo.inference.onnx_shipping)")
    parser.add_argument("--calibrate", nargs="+", metavar="NAME", help="fit these shipped models' temperature on "
                        "fresh captchas of their task and measure it on their test set (zoo.inference.calibration)")
    parser.add_argument("--sizes", nargs="+", metavar="NAME", help="read fresh captchas drawn at 160x60, 170x80 and "
                        "200x70 with these shipped models and record each size's accuracy in the card (zoo.inference.sizes)")
    parser.add_argument("--resize", choices=RESIZES, help="with --sizes: fit the drawings so and make it the card's "
                        "(how the model reads images of another size from then on; default: the card's own)")
    parser.add_argument("--check-images", type=int, metavar="N", help="with --onnx, --calibrate or --sizes: the first N "
                        "images only (default: the card's test_size)")
    args = parser.parse_args(argv)
    unknown = [name for name in (args.sizes or ()) if shipped_card(name) is None]
    if unknown:
        print(f"error: no shipped model {', '.join(map(repr, unknown))}; shipped: {', '.join(shipped())}", file=sys.stderr)
        return 2
    if args.resize and not args.sizes:
        print("error: --resize goes with --sizes NAME (it is measured before it becomes the card's)", file=sys.stderr)
        return 2
    for name in args.sizes or ():
        from zoo.inference import sizes

        result = sizes.measure(PRETRAINED_DIR / name, args.check_images or shipped_card(name)["test_size"], args.resize)
        print(f"{name}: " + ", ".join(f"{size} {accuracy:.2%}" for size, accuracy in result["seq_acc"].items())
              + f" ({result['images']:,} captchas each, resize {result['resize']})")
    if args.sizes:
        return 0
    if args.onnx:
        from zoo.inference import onnx_shipping

        return onnx_shipping.main_onnx(args.onnx, args.check_images)
    if args.calibrate:
        from zoo.inference import calibration

        for name in args.calibrate:
            if shipped_card(name) is None:
                print(f"error: no shipped model {name!r}; shipped: {', '.join(shipped())}", file=sys.stderr)
                return 2
            result = calibration.calibrate(PRETRAINED_DIR / name, args.check_images)
            print(f"{name}: temperature {shipped_card(name)['temperature']}; test ECE {result['as_trained']['ece']} -> "
                  f"{result['calibrated']['ece']}; {json.dumps(result['calibrated'])}")
        return 0
    if args.ship:
        if not args.name:
            parser.error("--ship needs --name")
        from zoo import tracking

        try:
            from zoo.tracking.shipping import ship

            print(f"shipped {ship(args.ship, args.name)}")
        except tracking.TrackingError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    for name in shipped():
        card = shipped_card(name)
        origin = f"{card['preset']} preset" + (f", from {card['init']}" if card.get("init") else "")
        print(f"{name:16} {card['arch']:14} test seq_acc {card['test'].get('seq_acc', float('nan')):.2%} "
              f"after {card.get('samples_in_all') or samples_in_all(card['samples_seen'], card.get('init')):,} samples in all "
              f"({origin})")  # as recorded when shipped: the init's name may since point at a newer model
    return 0


if __name__ == "__main__":
    sys.exit(main())
