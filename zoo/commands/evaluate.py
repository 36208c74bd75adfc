"""`python -m zoo.evaluate --model URI [--model URI ...] [--test-size N] [--test-seed S] [--source pil:STYLE]`

Scores a shipped model (`bigru-cpu`), a registered or logged model (`models:/zoo-bigru/1`,
`models:/zoo-bigru@champion`, `runs:/<run id>/model`) or a `.keras` file on fresh seeded captchas, and tracks the result as an
MLflow run. The charset and label lengths come from the model's metadata (or --charset, ...). The
captchas are the `captcha` package's (the default) or a `zoo.pil_captchas` style's (`--source pil:mix`:
the test set of a head start trained on that stream), fitted as the model reads images.

Several --model: each reads the same captchas (the same seeded drawings and labels, each fitted as
that model reads images; one tracked run each), then each is compared with the first, paired by
captcha: how many only it reads, how many only the first reads, and the exact McNemar p-value.

    python -m zoo.evaluate --model folder-mix-hollow --model runs:/ID/model --source pil:website-cm --test-size 2000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from zoo import cli
from zoo.config import DataConfig
from zoo.data.source_names import CAPTCHA, PIL_PREFIX, PIL_STYLES


def _source(text: str) -> str:
    if text == CAPTCHA or (text.startswith(PIL_PREFIX) and text.removeprefix(PIL_PREFIX) in PIL_STYLES):
        return text
    raise argparse.ArgumentTypeError(f"unknown source {text!r}; accepted: {CAPTCHA}, "
                                     + ", ".join(PIL_PREFIX + style for style in PIL_STYLES))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = DataConfig()
    parser = cli.parser("python -m zoo.evaluate", __doc__)
    parser.add_argument("--model", required=True, action="append", help="a shipped model name, models:/NAME/VERSION, "
                        "models:/NAME@ALIAS, runs:/ID/model or a .keras file; repeat it to compare models on the same captchas")
    parser.add_argument("--test-size", type=int, default=defaults.test_size,
                        help=f"fresh captchas to score (default {defaults.test_size:,})")
    parser.add_argument("--test-seed", type=int, default=defaults.test_seed,
                        help=f"seed of the test captchas (default {defaults.test_seed}, the training presets' test set)")
    parser.add_argument("--charset", help="characters the model reads (default: from the model's metadata)")
    parser.add_argument("--min-length", type=int, help="shortest label to draw (default: from the model's metadata)")
    parser.add_argument("--max-length", type=int, help="longest label to draw (default: from the model's metadata)")
    parser.add_argument("--source", default=CAPTCHA, type=_source,
                        help=f"the captchas' generator: captcha (the package, default) or pil:STYLE ({', '.join(PIL_STYLES)})")
    parser.add_argument("--experiment", default="captcha-zoo-evaluations",
                        help="MLflow experiment of the evaluation run (default: captcha-zoo-evaluations)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.test_size <= 0:
        print(f"error: --test-size must be positive, got {args.test_size}", file=sys.stderr)
        return 2
    read = []
    for model in args.model:
        scored = _evaluate(args, model)
        if scored is None:
            return 2
        read.append(scored)
    if len(read) > 1:
        _print_paired(read)
    return 0


def _evaluate(args: argparse.Namespace, model: str):
    """One model reads the test captchas, tracked as its own run: (model, labels, per-captcha correct),
    or None after printing why it could not be read."""
    import numpy as np

    from zoo import loading, tracking
    from zoo.data.stream import CaptchaSource, cached_split, default_workers
    from zoo.inference import evaluation, pretrained

    try:
        reader = loading.load(model, charset=args.charset, min_length=args.min_length, max_length=args.max_length,
                              runtime="keras")  # evaluation runs Keras' model.predict
    except (pretrained.ModelLoadError, tracking.TrackingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    info = reader.info
    if args.source == CAPTCHA:
        source = CaptchaSource(info.charset, info.min_length, info.max_length, reader.width, reader.height, args.test_seed)
    else:
        from zoo.data.pil_captchas import PilSource

        source = PilSource(args.source.removeprefix(PIL_PREFIX), info.charset, info.min_length, info.max_length,
                           reader.width, reader.height, args.test_seed, info.resize)
    images, labels = cached_split(source, args.test_size, default_workers())
    result = evaluation.evaluate(reader.model, images, labels, info.charset, info.max_length, min_length=info.min_length)
    charset = info.charset
    correct = np.array([prediction == label for prediction, label in zip(result.predictions, result.labels)])
    name = f"evaluate-{info.arch if info.arch != '?' else Path(model).stem}"
    with tracking.tracked_run(run_name=name, experiment=args.experiment, tags={"evaluated_model": model}):
        tracking.log_params({"model": model, "test_size": args.test_size, "test_seed": args.test_seed, "charset": charset,
                             "source": args.source})
        tracking.log_metrics({f"test_{key}": value for key, value in result.metrics.items()})
        tracking.log_table(evaluation.character_errors(result.predictions, result.labels, charset), "errors/character_errors.csv")
        pairs = evaluation.confused_pairs(result.predictions, result.labels)
        tracking.log_table(pairs, "errors/confused_pairs.csv")
    if len(args.model) > 1:
        print(f"{model}:")
    for key, value in result.metrics.items():
        print(f"test_{key} = {value:.4f}")
    if len(pairs):
        print(f"{int((~correct).sum()):,} of {len(result.labels):,} misread; most confused (true -> read: characters): "
              + evaluation.most_confused(pairs))
    return model, list(result.labels), correct


def _print_paired(read: list) -> None:
    """Each model against the first, captcha by captcha (the same drawings only where the models draw
    the same labels: the same charset and lengths), on what zoo.predict reads (test_read_seq_acc)."""
    from zoo.reporting.stats import mcnemar_exact

    first, first_labels, first_correct = read[0]
    print(f"\npaired against {first} ({first_correct.mean():.2%}), on the same {len(first_labels):,} captchas, "
          "as zoo.predict reads them (test_read_seq_acc):")
    for model, labels, correct in read[1:]:
        if labels != first_labels:
            print(f"  {model}: not paired: it draws other labels (another charset or lengths); give --charset, "
                  "--min-length and --max-length to draw the same captchas for both")
            continue
        only_it, only_first, p = mcnemar_exact(correct, first_correct)
        print(f"  {model}: {correct.mean():.2%} ({100 * (correct.mean() - first_correct.mean()):+.2f} points); "
              f"read by it only {only_it:,}, by {first} only {only_first:,}; exact McNemar p = {p:.3g}")


if __name__ == "__main__":
    sys.exit(main())
