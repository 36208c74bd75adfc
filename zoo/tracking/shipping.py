"""Shipping a tracked model: its Keras file, card (training run, metrics, task, sha256), checked
`model.onnx` and calibrated temperature copied into `zoo/pretrained/<name>/`, where zoo.load reads it
without a tracking store (`python -m zoo.pretrained --ship URI --name NAME`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from zoo import tracking
from zoo.config import repo_path
from zoo.inference import export
from zoo.inference.pretrained import (CARD_DIGITS, MODEL_FILE, ONNX_FILE, PRETRAINED_DIR, run_task, samples_in_all,
                                      sha256, shipped_card, write_card)


def ship(uri: str, name: str, folder: Path = PRETRAINED_DIR, *, training_command: str | None = None,
         onnx_and_temperature: bool = True) -> Path:
    """Copy a tracked model into `folder/name/` with its card (training run, metrics, sha256).
    `training_command`: what trained it, when not `zoo.train --arch/--preset/--seed` (a grid's run);
    `onnx_and_temperature=False` keeps the Keras file and card only (a record of a run, not a reader to serve)."""
    reader = tracking.load_reader(uri)
    run = tracking.model_run(uri)
    target = folder / name
    target.mkdir(parents=True, exist_ok=True)
    (target / ONNX_FILE).unlink(missing_ok=True)  # the model shipped before's: never read beside the new one
    partial = target / f".{MODEL_FILE}.partial.keras"
    reader.model.save(partial)
    partial.replace(target / MODEL_FILE)  # atomic: a crash never leaves half a model under the real name
    params, metrics, tags = run["params"], run["metrics"], run["tags"]
    samples = int(metrics.get("samples_seen", 0))
    before = shipped_card(name, folder)
    if "init_samples_in_all" in tags:  # the init's lineage when the run started
        in_all = samples + int(tags["init_samples_in_all"])
    elif before and before.get("source", {}).get("run_id") == run["run_id"]:  # shipped again: same lineage
        in_all = before["samples_in_all"]
    else:
        in_all = samples_in_all(samples, tags.get("init_from") or params.get("train.init"))
    card = {
        **reader.info.metadata(),
        **({"draw_sizes": params["data.draw_sizes"]} if params.get("data.draw_sizes") else {}),
        "name": name,
        "input": f"uint8 {reader.height} x {reader.width} x 3 (any image is adapted: zoo.data.images)",
        "preset": tags.get("preset"),
        "seed": tags.get("seed"),
        "training_command": training_command or f"python -m zoo.train --arch {tags.get('arch')} --preset {tags.get('preset')} --seed {tags.get('seed')}",
        "samples_seen": samples,
        # the model it started from (of several named, the one chosen); its samples are not counted above
        "init": tags.get("init_from") or params.get("train.init") or None,
        **({"init_sha256": tags["init_sha256"]} if tags.get("init_sha256") else {}),  # that model's file, pinned
        "samples_in_all": in_all,
        "test": {key.removeprefix("test_"): round(value, CARD_DIGITS) for key, value in metrics.items() if key.startswith("test_")},
        "test_size": int(params.get("data.test_size", 0)),
        "task": run_task(params),  # what it reads and how it was tested: another run ships under this name only when the same
        "test_seed": int(params.get("data.test_seed", 0)),
        "data_source": params.get("data.source", "captcha"),  # the generator (or folder) trained and tested on
        "params": int(metrics.get("params", 0)),
        "source": {"model_uri": uri, "run_id": run["run_id"], "git_commit": params.get("git_commit")},
        "trained_on": {"machine": params.get("machine"), "keras_backend": params.get("keras_backend"),
                       "precision": params.get("train.precision_resolved")},
        "versions": {key.removeprefix("version."): value for key, value in params.items() if key.startswith("version.")},
        **({} if Path(folder).resolve() == PRETRAINED_DIR.resolve() else {"load_as": repo_path(target)}),  # not by name
        "shipped": str(date.today()),
        "sha256": {MODEL_FILE: sha256(target / MODEL_FILE)},
    }
    if (before and before.get("resize") == "keep" and card["resize"] == "stretch" and card["data_source"] == "captcha"
            and not card.get("draw_sizes")):
        # drawn at its input size only, the run never fitted an image in training: that the name reads other
        # sizes at their own scale (bigru: zoo.inference.sizes) is the name's choice, kept from the card it
        # replaces; the sizes measured were the old model's (`python -m zoo.pretrained --sizes NAME` measures anew)
        from zoo.inference import sizes

        card["resize"], card["text_height"] = "keep", sizes.learned_text_height(card)
    write_card(target, card)
    if not onnx_and_temperature:
        return target
    if export.onnx_available():  # model.onnx beside it, checked on the card's test set (zoo.inference.onnx_shipping)
        from zoo.inference import onnx_shipping

        onnx_shipping.add_onnx(target)
    if not card["task"]["source"].startswith("folder:"):  # its temperature, fitted on captchas drawn again
        from zoo.inference import calibration

        calibration.calibrate(target)
    return target


