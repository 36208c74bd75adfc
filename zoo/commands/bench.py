"""`python -m zoo.bench [--arch bigru] [--quick] [--no-track] [--exports]`: where the time goes, measured in one process.

Prints a table and ratios (and logs them as an MLflow run in experiment `bench`):
- data: captcha images/s rendered by 1 worker process and by one per core (scaling per core);
- training samples/s in fp32 and bf16 (mixed_bfloat16), each with the share of step time spent
  waiting for the next batch from the worker processes; then other set-ups against fp32 (XLA,
  unrolled GRUs, batch sizes, `model.fit` over the stream as `zoo.train` runs it, and Keras' own
  unfused BatchNormalization, the zoo's training step before zoo.models.batch_norm);
- tracking overhead: the same epochs with and without per-epoch MLflow logging + checkpointing;
- inference images/s at batch 128 and ms/image at batch 1, fp32 and bf16;
- with --exports: a trained zoo model (default bigru-cpu) in Keras, as LiteRT exports (float32,
  dynamic-range int8, full int8) and, in ONNX Runtime (float32, static int8):
  images/s, ms/image and full-sequence accuracy on fresh test captchas, each against Keras (zoo.inference.export).
Every figure is the median of repeats after a warm-up; paired figures run back to back.
"""

from __future__ import annotations

import argparse
import sys

from zoo import cli
from zoo.fitting.bench import TRAIN_VARIANTS, data_rate, export_figures, paired_ratios, tracking_overhead, train_rate


def _variant_names(text: str) -> list[str]:
    names = cli.comma_separated(text)
    unknown = [name for name in names if name not in TRAIN_VARIANTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown training set-up(s) {', '.join(unknown) or repr(text)}; "
                                         f"accepted: {', '.join(TRAIN_VARIANTS)}")
    return names


def _finish(args, cores: int, figures: dict[str, float]) -> int:
    """Print the table; log the figures as an MLflow run unless --no-track."""
    from zoo.machine import hardware

    print(f"\n{hardware.machine_description()}\n\n| figure | value |\n|---|---|")
    for key, value in figures.items():
        shown = f"{value:.1%}" if "share" in key or "overhead" in key or "seq_acc" in key else f"{value:.2f}x" if "_vs_" in key or "scaling" in key else f"{value:.1f}"
        print(f"| {key} | {shown} |")
    if not args.no_track:
        from zoo import tracking

        with tracking.tracked_run(run_name=f"bench-{args.arch}-{'quick' if args.quick else 'full'}", experiment="bench",
                                  tags={"arch": args.arch, "kind": "bench"}):
            tracking.log_params({"arch": args.arch, "preset": args.preset, "cores": cores, "quick": args.quick,
                                 "machine": hardware.machine_description(), "cpu_model": hardware.cpu_model(),
                                 "cpu_features": " ".join(hardware.cpu_features()), **tracking.versions()})
            tracking.log_metrics({key: float(value) for key, value in figures.items()})
    return 0

def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.bench", __doc__)
    parser.add_argument("--arch", default="bigru", help="registered architecture to measure (default bigru)")
    parser.add_argument("--preset", default="reference", help="model and data shape to measure (default: the reference)")
    parser.add_argument("--quick", action="store_true", help="3 steps x 3 repeats instead of 10 x 5 (18 min instead of over an hour on a 2-core CPU)")
    parser.add_argument("--no-track", action="store_true", help="do not log the figures as an MLflow run")
    parser.add_argument("--no-variants", action="store_true",
                        help=f"skip the other training set-ups ({', '.join(TRAIN_VARIANTS)}), measured against fp32")
    parser.add_argument("--variants", type=_variant_names, default=list(TRAIN_VARIANTS), metavar="A,B",
                        help="only these of the other training set-ups (comma-separated; default: all)")
    parser.add_argument("--exports", action="store_true", help="also measure LiteRT and ONNX Runtime exports of a trained model")
    parser.add_argument("--export-model", default="bigru-cpu", help="the zoo model --exports converts (default bigru-cpu)")
    parser.add_argument("--export-test", type=int, default=1024, help="test captchas for the exports' accuracy (default 1024)")
    parser.add_argument("--only-exports", action="store_true", help="measure the exports only (implies --exports)")
    args = parser.parse_args(argv)
    from zoo import config as config_lib

    try:
        config = config_lib.make_config(args.arch, args.preset, 0)
    except config_lib.ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from zoo.inference import evaluation
    from zoo.machine import hardware
    from zoo.data.stream import CaptchaSource, default_workers, render

    cores = default_workers()
    steps, repeats, batches = (3, 3, 4) if args.quick else (10, 5, 16)
    source = CaptchaSource.from_config(config.data, seed=0)
    figures: dict[str, float] = {}
    print(f"bench {args.arch} ({args.preset} shapes), {'quick' if args.quick else 'full'}, on {hardware.machine_description()}", flush=True)
    if args.exports or args.only_exports:
        try:
            figures.update(export_figures(args.export_model, config, args.export_test, repeats))
        except (ValueError, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if args.only_exports:
        return _finish(args, cores, figures)
    figures["data_images_per_s_1_worker"] = data_rate(source, 1, batches, 32)
    figures[f"data_images_per_s_{cores}_workers"] = data_rate(source, cores, batches * cores, 32)
    figures["data_scaling_per_core"] = figures[f"data_images_per_s_{cores}_workers"] / (cores * figures["data_images_per_s_1_worker"])
    print(f"  data: {figures['data_images_per_s_1_worker']:.0f} images/s on 1 worker, "
          f"{figures[f'data_images_per_s_{cores}_workers']:.0f} on {cores}", flush=True)
    test_images, _ = render(CaptchaSource.from_config(config.data, seed=7), 128)
    precisions = ("fp32", "bf16")
    if hardware.onednn_isa_cap() and not hardware.cpu_has_bf16() and not hardware.has_gpu():
        precisions = ("fp32",)  # oneDNN builds no bf16 primitive below AVX512_CORE_BF16: the step would abort
        print(f"  bf16 skipped: oneDNN is held to {hardware.onednn_isa_cap()} ({hardware.ONEDNN_ISA_ENV})", flush=True)
    for precision in precisions:
        measured = train_rate(config, precision, steps, repeats, cores)
        figures[f"train_samples_per_s_{precision}"] = measured["samples_per_s"]
        figures[f"train_input_wait_share_{precision}"] = measured["input_wait_share"]
        speed = evaluation.measure_speed(measured["model"], test_images, repeats=repeats)
        figures[f"inference_images_per_s_{precision}"] = speed["inference_images_per_s"]
        figures[f"latency_ms_per_image_{precision}"] = speed["latency_ms_per_image"]
        print(f"  {precision}: train {measured['samples_per_s']:.1f} samples/s "
              f"(input wait {measured['input_wait_share']:.1%}), inference {speed['inference_images_per_s']:.0f} images/s, "
              f"{speed['latency_ms_per_image']:.1f} ms/image", flush=True)
    if "bf16" in precisions:
        figures["train_bf16_vs_fp32"] = figures["train_samples_per_s_bf16"] / figures["train_samples_per_s_fp32"]
        figures["inference_bf16_vs_fp32"] = figures["inference_images_per_s_bf16"] / figures["inference_images_per_s_fp32"]
    if not args.no_variants:
        for name in [name for name in args.variants if TRAIN_VARIANTS[name]["precision"] in precisions]:
            options = TRAIN_VARIANTS[name]
            rate = train_rate(config, steps=steps, repeats=repeats, workers=cores, **options)["samples_per_s"]
            figures[f"train_samples_per_s_{name}"] = rate
            figures[f"train_{name}_vs_fp32"] = rate / figures["train_samples_per_s_fp32"]
            print(f"  {name}: train {rate:.1f} samples/s, {figures[f'train_{name}_vs_fp32']:.2f}x fp32", flush=True)
        paired_ratios(figures)
    small = config_lib.make_config(args.arch, args.preset, 0, {"train.steps_per_epoch": steps, "train.batch_size": 32})
    overhead = tracking_overhead(small, epochs=2 if args.quick else 4)
    figures["tracking_overhead"] = overhead["overhead"]
    print(f"  tracking: {overhead['plain_s']:.1f} s plain, {overhead['tracked_s']:.1f} s tracked", flush=True)
    return _finish(args, cores, figures)


if __name__ == "__main__":
    sys.exit(main())
