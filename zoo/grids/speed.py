"""Every architecture of a grid timed in one process on one machine, for a report's speed columns (the
command: python -m zoo.speed, zoo.commands.speed). Training runs log their own inference speed, but a
grid's runs train on different machines and days, so their speeds cannot be compared; `measure` times
each architecture round-robin on the same images and takes medians over rounds."""

from __future__ import annotations

import time


def measure(grid, repeats: int):
    """One row per architecture: params, images/s (b128), ms/image (b1), machine, backend, date.

    The models are timed round-robin (each round times every model once at batch 128 and once at
    batch 1), and each figure is the median over rounds: a slow spell of the machine then touches every
    architecture alike instead of whichever one was being timed."""
    import keras
    import numpy as np
    import pandas as pd

    from zoo.data.stream import source_for
    from zoo.machine import hardware
    from zoo.models.builder import build_model

    configs = list({config.arch: config for config in grid.run_configs()}.values())
    source = source_for(configs[0].data, "test")
    images = np.stack([source.sample(index)[0] for index in range(128)])  # the same captchas for every model
    models = {}
    for config in configs:
        keras.utils.set_random_seed(0)
        data = config.data
        models[config.arch] = build_model(config.arch_config(), height=data.height, width=data.width,
                                          num_classes=len(data.charset) + 1, name=config.arch)
        for batch in (images, images[:1]):
            models[config.arch].predict_on_batch(batch)  # warm-up: tracing and allocation are not timed
    times = {arch: {"b128": [], "b1": []} for arch in models}
    for _ in range(repeats):
        for arch, model in models.items():
            for key, batch in (("b128", images), ("b1", images[:1])):
                start = time.perf_counter()
                model.predict_on_batch(batch)
                times[arch][key].append(time.perf_counter() - start)
    rows = []
    for arch, model in models.items():
        rows.append({"arch": arch, "params": model.count_params(),
                     "inference_images_per_s": len(images) / float(np.median(times[arch]["b128"])),
                     "latency_ms_per_image": 1000 * float(np.median(times[arch]["b1"]))})
        print(f"{arch:<16} {rows[-1]['params']:>10,} params  {rows[-1]['inference_images_per_s']:>8,.0f} images/s (b128)  "
              f"{rows[-1]['latency_ms_per_image']:>6.2f} ms/image (b1)", flush=True)
    return pd.DataFrame(rows).assign(machine=hardware.machine_description(), keras_backend=keras.backend.backend(),
                                     rounds=repeats, measured=time.strftime("%Y-%m-%d"))
