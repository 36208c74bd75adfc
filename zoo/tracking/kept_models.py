"""One model per architecture of a campaign, kept beside its report (`python -m zoo.campaign ... --keep-models`).

A run's model lives in the tracking store of the machine that trained it; a campaign's report is rebuilt
from its committed CSVs anywhere, but reading new captchas with the compared heads needs their weights.
`--keep-models` copies the first finished run of each architecture (in the order the runs finished)
into `<report>/models/<run name>/` as a model folder: `model.keras` and its card (the run, its test
accuracy, the grid command that trained it, the model's sha256), ~3.3 MB for the reference heads. One
per architecture, not one per run: 65 runs would add ~215 MB to the repository, one per head ~36 MB.
Any of them reads as a shipped model does:

    python -m zoo.evaluate --model reports/heads-reference/models/<run> --test-seed 99
    python -m zoo.predict --model reports/heads-reference/models/<run> --format csv DIR

The card's test accuracy is the run's own test pass, in the precision it trained in (bf16 on the CPUs
that have it); a reader computes in float32 (zoo.inference.pretrained.load_keras), so the kept model can
read a few of the same captchas differently: `gru-heads-reference-128k-lr-double-s3`, 98.22% in its run,
read 98.18% of the same 10,000 test captchas in float32 (`zoo.evaluate ... --test-seed 2000003`, 2026-12-06).

Kept folders are never replaced (a later seed of the same head does not move them), so what a report
names stays what was committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

MODELS_DIR = "models"


def kept(out: Path) -> dict[str, str]:
    """The architecture -> run name of each model kept under `out/models/` (from the cards)."""
    from zoo.inference.pretrained import CARD_FILE

    found = {}
    for card_path in sorted((Path(out) / MODELS_DIR).glob(f"*/{CARD_FILE}")):
        try:
            card = json.loads(card_path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # a folder half written by a killed copy: not kept, so copied again
        found.setdefault(str(card.get("arch")), card_path.parent.name)
    return found


def keep_one_per_arch(experiment: str, run_names: set[str], out: Path, training_command: Callable[[str], str]) -> list[Path]:
    """Copy into `out/models/` a finished run of `experiment` (one of `run_names`) for each architecture
    that has none kept yet, from this machine's tracking store; `training_command(name)` is the command
    its card names. Returns the folders written (none when the store holds no new architecture's run)."""
    from zoo import tracking
    from zoo.tracking import shipping

    have = kept(out)
    try:
        runs = tracking.zoo_runs(experiment)
    except tracking.TrackingError:
        return []  # the experiment has no run in this store yet
    if runs.empty:
        return []
    written = []
    for _, run in runs.sort_values("end_time").iterrows():
        name, arch = run["tags.mlflow.runName"], str(run["tags.arch"])
        if arch in have or name not in run_names:
            continue
        uri = tracking.run_model_uri(run["run_id"])
        if uri is None:
            continue
        folder = shipping.ship(uri, name, Path(out) / MODELS_DIR, onnx_and_temperature=False,
                               training_command=training_command(name))
        have[arch] = name
        written.append(folder)
    return written
