"""Where the time goes, measured in one process (the command: python -m zoo.bench, zoo.commands.bench):
data rendering per worker, training samples/s per precision and set-up, tracking overhead, inference
and exports' speed and accuracy. Every figure is the median of repeats after a warm-up."""

from __future__ import annotations

import statistics
import tempfile
import time

import numpy as np



def data_rate(source, workers: int, batches: int, batch_size: int) -> float:
    """Images/s of `workers` processes rendering `batches` batches (the pool's start-up excluded)."""
    from zoo.data.stream import BatchStream

    with BatchStream(source, batch_size, start_batch=10_000, stop_batch=10_000 + batches + workers,
                     workers=workers, prefetch=2 * workers) as stream:
        iterator = iter(stream)
        for _ in range(workers):  # warm-up: the first batch of each worker pays for imports
            next(iterator)
        start = time.perf_counter()
        count = sum(len(images) for images, _ in iterator)
    return count / (time.perf_counter() - start)


# training set-ups measured against fp32 by `zoo.bench` (besides bf16 itself): what else is on the table
TRAIN_VARIANTS = {
    "bf16_xla": {"precision": "bf16", "jit_compile": True},  # XLA instead of TF's oneDNN kernels
    "bf16_unrolled": {"precision": "bf16", "unroll": True},  # GRUs unrolled: no while loop per step
    "bf16_batch64": {"precision": "bf16", "batch_size": 64},
    "bf16_batch256": {"precision": "bf16", "batch_size": 256},
    # the loop zoo.train runs (model.fit over the worker stream) instead of one train_on_batch call a step
    "fp32_fit": {"precision": "fp32", "fit": True},
    "bf16_fit": {"precision": "bf16", "fit": True},
    "bf16_fit_batch32": {"precision": "bf16", "fit": True, "batch_size": 32},
    # Keras' BatchNormalization instead of the fused one (zoo.models.batch_norm): the step as it was
    # until 2026-11-29, so `train_bf16_vs_fp32_keras_bn` is bf16 against that fp32 baseline
    "fp32_keras_bn": {"precision": "fp32", "keras_bn": True},
    "bf16_keras_bn": {"precision": "bf16", "keras_bn": True},
}


def train_rate(config, precision: str, steps: int, repeats: int, workers: int, *, jit_compile: bool = False,
               unroll: bool = False, batch_size: int | None = None, fit: bool = False,
               keras_bn: bool = False) -> dict[str, float]:
    """Median samples/s of `steps` training steps fed by the worker stream, and the input-wait share.

    By default one `train_on_batch` call a step (the wait for each batch is timed); with `fit`, as
    `zoo.train` trains: `model.fit` over the stream, `steps` steps an epoch (the wait is not
    separable there and is reported as NaN)."""
    import keras

    from zoo import config as config_lib
    from zoo.models import ctc
    from zoo.data.stream import BatchStream, CaptchaSource
    from zoo.models.builder import build_model, with_keras_batch_norm

    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(config_lib.PRECISIONS[precision])
    try:
        data = config.data
        model = build_model(config.arch_config(), height=data.height, width=data.width,
                            num_classes=len(data.charset) + 1, name=config.arch)
        if unroll:
            from zoo.inference.export import unrolled

            model = unrolled(model, float32=False)  # keeps the bf16 policy (until 2026-11-29 it became float32)
        if keras_bn:
            model = with_keras_batch_norm(model)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=ctc.CTCLoss(), jit_compile=jit_compile)
    finally:
        keras.config.set_dtype_policy(policy)
    source = CaptchaSource.from_config(data, seed=0)
    batch_size = batch_size or config.train.batch_size
    rates, waits = [], []
    with BatchStream(source, batch_size, workers=workers, prefetch=data.prefetch_batches) as stream:
        batches = iter(stream)
        if fit:
            model.fit(batches, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)  # warm-up: tracing
            for _ in range(repeats):
                start = time.perf_counter()
                model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
                rates.append(steps * batch_size / (time.perf_counter() - start))
            return {"samples_per_s": statistics.median(rates), "input_wait_share": float("nan"), "model": model}
        model.train_on_batch(*next(batches))  # warm-up: tracing
        for _ in range(repeats):
            waited, start = 0.0, time.perf_counter()
            for _ in range(steps):
                before = time.perf_counter()
                images, labels = next(batches)
                waited += time.perf_counter() - before
                model.train_on_batch(images, labels)
            elapsed = time.perf_counter() - start
            rates.append(steps * batch_size / elapsed)
            waits.append(waited / elapsed)
    return {"samples_per_s": statistics.median(rates), "input_wait_share": statistics.median(waits), "model": model}


def tracking_overhead(config, epochs: int) -> dict[str, float]:
    """Wall time of the same short fit with and without the zoo's per-epoch logging + checkpoints."""
    import keras

    from zoo.models import ctc
    from zoo import tracking
    from zoo.fitting.checkpoint_callbacks import SaveEveryEpoch
    from zoo.fitting.checkpoints import RunCheckpoint
    from zoo.data.stream import CaptchaSource, render
    from zoo.models.builder import build_model

    data, train = config.data, config.train
    images, labels = render(CaptchaSource.from_config(data, seed=0), train.steps_per_epoch * train.batch_size)
    val = render(CaptchaSource.from_config(data, seed=1), min(256, data.val_size))

    def fit(callbacks) -> float:
        keras.utils.set_random_seed(0)
        model = build_model(config.arch_config(), height=data.height, width=data.width,
                            num_classes=len(data.charset) + 1, name=config.arch)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=ctc.CTCLoss(), metrics=ctc.sequence_metrics(data.max_length))
        model.fit(images, labels, batch_size=train.batch_size, epochs=1, verbose=0, validation_data=val)  # warm-up
        start = time.perf_counter()
        model.fit(images, labels, batch_size=train.batch_size, initial_epoch=1, epochs=1 + epochs, verbose=0,
                  validation_data=val, callbacks=callbacks(model))
        return time.perf_counter() - start

    plain = fit(lambda model: [])
    with tracking.throwaway_store() as folder:
        config.checkpoint_dir = f"{folder}/ckpt"
        checkpoint = RunCheckpoint(config)
        with tracking.tracked_run(run_name="overhead", experiment="bench-overhead", tags={}) as run_id:
            checkpoint.start(run_id)
            tracked = fit(lambda model: [tracking.epoch_logger(), SaveEveryEpoch(checkpoint, run_id)])
    return {"plain_s": plain, "tracked_s": tracked, "overhead": tracked / plain - 1}


def export_figures(model_name: str, config, count: int, repeats: int) -> dict[str, float]:
    """Speed and test accuracy of a zoo model in Keras and as each LiteRT / ONNX export, on the same images."""
    from zoo.models import ctc
    from zoo.inference import evaluation, export, pretrained
    from zoo.data.stream import CaptchaSource, render
    from zoo.inference.reader import Reader

    reader = pretrained.load(model_name, runtime="keras")  # the Keras model, exported below
    if (reader.height, reader.width) != (config.data.height, config.data.width):
        raise ValueError(f"model {model_name} reads {reader.height}x{reader.width} images, the preset makes "
                         f"{config.data.height}x{config.data.width}: pick a matching --preset")
    images, labels = render(CaptchaSource.from_config(config.data, seed=config.data.test_seed), count)
    truth = ctc.labels_to_texts(labels, reader.info.charset)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        calibration, _ = render(CaptchaSource.from_config(config.data, seed=config.data.val_seed), 128)
        variants = {"keras": reader.model}
        for quantize in export.QUANTIZATIONS:
            path = export.to_litert(reader.model, f"{folder}/{quantize}.tflite", quantize, calibration)
            variants[f"litert_{quantize}"] = export.LiteRTModel(path)
        if export.onnx_available():
            for quantize in export.ONNX_QUANTIZATIONS:
                path = export.to_onnx(reader.model, f"{folder}/{quantize}.onnx", quantize, calibration)
                variants[f"onnx_{quantize}"] = export.OnnxModel(path)
        else:
            print("  onnx: not measured (tf2onnx and onnxruntime are not installed: pip install -e '.[train]')", flush=True)
        for name, model in variants.items():
            speed = evaluation.measure_speed(model, images, repeats=repeats)
            texts = [reading.text for reading in Reader(model, reader.info, name).predict(images)]
            figures[f"export_{name}_images_per_s"] = speed["inference_images_per_s"]
            figures[f"export_{name}_ms_per_image"] = speed["latency_ms_per_image"]
            figures[f"export_{name}_seq_acc"] = float(np.mean([text == true for text, true in zip(texts, truth)]))
            print(f"  {name}: {speed['inference_images_per_s']:.0f} images/s, {speed['latency_ms_per_image']:.1f} ms/image, "
                  f"seq acc {figures[f'export_{name}_seq_acc']:.2%} on {count}", flush=True)
        for name in variants:
            if name != "keras":
                figures[f"export_{name}_vs_keras"] = figures[f"export_{name}_images_per_s"] / figures["export_keras_images_per_s"]
    return figures


def paired_ratios(figures: dict[str, float]) -> None:
    """Ratios of two measured set-ups besides `..._vs_fp32`, where both were measured."""
    pairs = {"train_bf16_fit_vs_fp32_fit": ("bf16_fit", "fp32_fit"),  # the precision's gain within model.fit
             # the headline against the step as it was: bf16 with the fused layer / fp32 with Keras' layer
             "train_bf16_vs_fp32_keras_bn": ("bf16", "fp32_keras_bn"),
             "train_bf16_keras_bn_vs_fp32_keras_bn": ("bf16_keras_bn", "fp32_keras_bn")}
    for key, (top, bottom) in pairs.items():
        if f"train_samples_per_s_{top}" in figures and f"train_samples_per_s_{bottom}" in figures:
            figures[key] = figures[f"train_samples_per_s_{top}"] / figures[f"train_samples_per_s_{bottom}"]
            print(f"  {top} / {bottom}: {figures[key]:.2f}x", flush=True)
