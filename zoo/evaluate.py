"""`python -m zoo.evaluate --model URI [--test-size N] [--test-seed S]`

Scores a registered or logged model (`models:/zoo-bigru/1`, `models:/zoo-bigru@champion`,
`runs:/<run id>/model`) or a `.keras` file on fresh seeded captchas, and tracks the result as an
MLflow run. The charset and label lengths come from the model's metadata (or --charset, ...).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zoo.config import DataConfig


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = DataConfig()
    parser = argparse.ArgumentParser(prog="python -m zoo.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="models:/NAME/VERSION, models:/NAME@ALIAS, runs:/ID/model or a .keras file")
    parser.add_argument("--test-size", type=int, default=defaults.test_size)
    parser.add_argument("--test-seed", type=int, default=defaults.test_seed)
    parser.add_argument("--charset", help="characters the model reads (default: from the model's metadata)")
    parser.add_argument("--min-length", type=int)
    parser.add_argument("--max-length", type=int)
    parser.add_argument("--experiment", default="captcha-zoo-evaluations")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.test_size <= 0:
        print(f"error: --test-size must be positive, got {args.test_size}", file=sys.stderr)
        return 2
    import keras

    from zoo import evaluation, tracking
    from zoo.data import CaptchaSource, cached_split, default_workers

    try:
        if Path(args.model).suffix == ".keras":
            if not Path(args.model).is_file():
                raise tracking.TrackingError(f"no such model file: {args.model}")
            import zoo.ctc  # noqa: F401  (registers the loss and metrics a checkpoint may carry)

            model, metadata = keras.saving.load_model(args.model), {}
        else:
            model, metadata = tracking.load_keras_model(args.model)
    except (tracking.TrackingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    charset = args.charset or metadata.get("charset")
    max_length = args.max_length or metadata.get("max_length")
    min_length = args.min_length or metadata.get("min_length") or max_length
    if not charset or not max_length:
        print("error: the model carries no charset/length metadata; pass --charset and --max-length", file=sys.stderr)
        return 2
    _, height, width, _ = model.input_shape
    source = CaptchaSource(charset, int(min_length), int(max_length), width, height, args.test_seed)
    images, labels = cached_split(source, args.test_size, default_workers())
    result = evaluation.evaluate(model, images, labels, charset, int(max_length))
    name = f"evaluate-{metadata.get('arch', Path(args.model).stem)}"
    with tracking.tracked_run(run_name=name, experiment=args.experiment, tags={"evaluated_model": args.model}):
        tracking.log_params({"model": args.model, "test_size": args.test_size, "test_seed": args.test_seed, "charset": charset})
        tracking.log_metrics({f"test_{key}": value for key, value in result.metrics.items()})
        tracking.log_table(evaluation.character_errors(result.predictions, result.labels, charset), "errors/character_errors.csv")
    for key, value in result.metrics.items():
        print(f"test_{key} = {value:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
