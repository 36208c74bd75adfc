"""`python -m zoo.train --arch bigru [--preset cpu] [--seed 0] [--data folder:PATH] [--init MODEL] [--minutes M] [--set key=value ...] [--resume|--restart]`

Trains one registered architecture and tracks it in MLflow; see README.md for the presets.
"""

from __future__ import annotations

import argparse
import signal
import sys

from zoo import cli
from zoo.data import folder_data
from zoo import config as config_lib
from zoo.models import registry


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = cli.parser("python -m zoo.train", __doc__)
    parser.add_argument("--arch", default="bigru", help=f"registered model: {', '.join(registry.list_models())}")
    parser.add_argument("--preset", default="cpu", help=f"preset in experiments/: {', '.join(config_lib.list_presets())}")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training stream and weights")
    parser.add_argument("--keys", action="store_true", help="print every config key (type, default, meaning; "
                        "zoo.config.keys) as a Markdown table and stop")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. train.steps_per_epoch=50; several may be "
                             "given, or joined with ';' in one argument")
    parser.add_argument("--data", help="folder:PATH trains on your labeled images (zoo.data.folder_data); "
                        "default: generated captchas")
    parser.add_argument("--init", help="start from a trained model's weights: a shipped name, .keras file or models:/...; "
                        "several, comma-separated (with --data folder:PATH): the one reading most of the "
                        "validation images as it is")
    parser.add_argument("--minutes", type=float, help="train for about this many minutes on this machine: the "
                        "phases' epochs are scaled to its measured speed (train.minutes; 0 = as the preset says)")
    parser.add_argument("--grid", metavar="CONFIG", help="train one run of a comparison config (with --run; "
                        "what zoo.compare and zoo.campaign start): --arch/--preset/--seed come from the grid")
    parser.add_argument("--run", metavar="NAME", help="with --grid: the run's name, e.g. bigru-tiny-s0")
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true", help="continue the unfinished run of this config")
    resume.add_argument("--restart", action="store_true", help="discard this config's checkpoint and start over")
    return parser.parse_args(argv)


def split_overrides(values: list[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(";") if item.strip()]


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.keys:
        from zoo.config.keys import key_table

        print(key_table())
        return 0
    try:
        overrides = split_overrides(args.overrides)
        overrides += [f"data.source={args.data}"] * bool(args.data) + [f"train.init={args.init}"] * bool(args.init)
        overrides += [f"train.minutes={args.minutes}"] * (args.minutes is not None)
        if bool(args.grid) != bool(args.run):
            raise config_lib.ConfigError("--grid and --run go together: a comparison config and one of its run names")
        if args.grid:
            from zoo.grids.compare import load_grid

            config = load_grid(args.grid).run_config(args.run, dict(map(config_lib.split_assignment, overrides)))
            from zoo.grids.compare import grid_run_status

            if not args.restart and grid_run_status(config) == "finished":  # a grid's run is trained once
                print(f"{config.run_name} already finished in {config.tracking.experiment}; nothing to train "
                      "(--restart trains it again)")
                return 0
        else:
            config = config_lib.make_config(args.arch, args.preset, args.seed, overrides)
    except config_lib.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if folder_data.folder_path(config.data.source) is not None:  # what was understood, before any compute
        print(folder_data.summary_for(config.data), flush=True)
    from zoo.fitting.loop import train  # heavy imports only once the config is known to be good

    signal.signal(signal.SIGTERM, _interrupt)  # a kill by SIGTERM ends the run KILLED, resumable
    try:
        result = train(config, resume=args.resume, restart=args.restart)
    except config_lib.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the run ended KILLED, its last epoch checkpointed
        print(f"\ninterrupted: {config.run_name} stopped; continue it with the same command and --resume", file=sys.stderr)
        return 130
    print(f"run {result.run_id} ({config.run_name}) finished:")
    for name, value in result.metrics.items():
        print(f"  {name:>24} = {value:.4f}")
    if result.model_uri:
        print(f"  model: {result.model_uri}")
    if result.confused is not None and len(result.confused):
        print(misread_line(result.confused))
    from zoo import tracking

    print(tracking.run_page_line(result.run_id))
    return 0


def misread_line(confused) -> str:
    """The test's most frequent misreads (true -> read), so a pair that dominates them (O and 0 in many
    faces) shows as the run ends."""
    from zoo.inference import evaluation

    return f"  most misread (true -> read: characters, of {confused['count'].sum()}): {evaluation.most_confused(confused)}"


if __name__ == "__main__":
    sys.exit(main())
