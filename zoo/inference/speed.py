"""`python -m zoo.speed experiments/heads-reference.toml [--out reports/heads-reference/speed.csv] [--repeats 7]`:
every architecture of a grid timed in one process on one machine, for a report's speed columns.

Training runs log their own inference speed, but a grid's runs train on different machines and days
(a CPU here, a GPU there), so their speeds cannot be compared. This builds each architecture of the
grid (its preset's model; speed does not depend on the weights), and measures, back to back with
the same images: parameters, images/s at batch 128 and ms/image at batch 1 (medians after a warm-up;
zoo.inference.evaluation.measure_speed), in float32 as a reader runs. `zoo.report` uses the file when
it lies in the report's folder, and names the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from zoo import cli

SPEED_CSV = "speed.csv"


def measure(grid, repeats: int):
    """One row per architecture: params, images/s (b128), ms/image (b1), machine, backend, date."""
    import keras
    import pandas as pd

    from zoo.data.stream import source_for
    from zoo.fitting import hardware
    from zoo.inference import evaluation
    from zoo.models.builder import build_model

    rows, images = [], None
    for config in {config.arch: config for config in grid.run_configs()}.values():
        if images is None:  # the same 128 test captchas for every architecture
            import numpy as np

            source = source_for(config.data, "test")
            images = np.stack([source.sample(index)[0] for index in range(128)])
        keras.utils.set_random_seed(0)
        data = config.data
        model = build_model(config.arch_config(), height=data.height, width=data.width, num_classes=len(data.charset) + 1,
                            name=config.arch)
        inference = keras.Model(model.inputs, model.outputs, name=model.name)
        figures = evaluation.measure_speed(inference, images, repeats=repeats)
        rows.append({"arch": config.arch, "params": model.count_params(), **figures})
        print(f"{config.arch:<16} {rows[-1]['params']:>10,} params  {figures['inference_images_per_s']:>8,.0f} images/s (b128)  "
              f"{figures['latency_ms_per_image']:>6.2f} ms/image (b1)", flush=True)
        keras.backend.clear_session()
    return pd.DataFrame(rows).assign(machine=hardware.describe(), keras_backend=keras.backend.backend(),
                                     measured=time.strftime("%Y-%m-%d"))


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.speed", __doc__)
    parser.add_argument("config", help="a comparison config, e.g. experiments/heads-reference.toml")
    parser.add_argument("--out", type=Path, help="CSV to write (default: reports/<experiment>/speed.csv)")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per figure (median; default 7)")
    args = parser.parse_args(argv)
    if args.repeats <= 0:
        parser.error(f"--repeats must be positive, got {args.repeats}")
    from zoo import config as config_lib
    from zoo.grids.compare import load_grid

    try:
        grid = load_grid(args.config)
    except config_lib.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or config_lib.PROJECT_DIR / "reports" / grid.experiment / SPEED_CSV
    table = measure(grid, args.repeats)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(f"wrote {out} ({len(table)} architectures on {table['machine'].iloc[0]})")
    return 0
