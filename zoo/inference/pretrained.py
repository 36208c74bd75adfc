"""Shipped models, and loading any model the zoo can read: `zoo.load(spec)`.

A shipped model is a folder `zoo/pretrained/<name>/` with `model.keras`, `model.onnx` (the same
model for ONNX Runtime, checked to read the card's test set identically: zoo.inference.onnx_shipping),
`card.json` (what it reads, how it was trained, its test metrics, the sha256 of both files) and
`README.md` (the same card for people). Loading checks the sha256; `.keras` files load in Keras
safe mode. `zoo.load` reads `model.onnx` where there is one, so reading needs no TensorFlow.
The command that lists, ships, converts and measures them is `python -m zoo.pretrained`
(zoo.commands.pretrained).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

from zoo.data import images
from zoo.inference import export
from zoo.inference.export import RUNTIMES
from zoo.inference.reader import ModelInfo, Reader

PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
DEFAULT_MODEL = "bigru"  # the most accurate shipped reader of the reference problem (the campaign ships it)
CARD_DIGITS = 4  # a card's test metrics are rounded to this many digits
MODEL_FILE, ONNX_FILE, CARD_FILE = "model.keras", "model.onnx", "card.json"
MODEL_FILES = (MODEL_FILE, ONNX_FILE)  # what a model folder may read from


class ModelLoadError(ValueError):
    """The model spec names nothing loadable, or the file is not what its card says."""


def shipped() -> list[str]:
    return sorted(p.parent.name for p in PRETRAINED_DIR.glob(f"*/{CARD_FILE}"))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(spec: str = DEFAULT_MODEL, *, charset: str | None = None, min_length: int | None = None,
         max_length: int | None = None, runtime: str = "auto", resize: str | None = None) -> Reader:
    """A Reader from a shipped name (`bigru`), a model folder or a `.keras` file (MLflow URIs too:
    zoo.load, zoo.loading). charset/lengths override the model's own; `resize` how images of another
    size are fitted to its input (zoo.data.images.RESIZES; default: the model's own).

    runtime: "auto" reads a folder's `model.onnx` with ONNX Runtime where it has one (every shipped
    model does: no TensorFlow or Keras needed) and anything else with Keras; "keras" always reads
    the Keras model; "onnx" always ONNX Runtime (a model without its .onnx is converted once, then
    cached: that needs the `train` extra)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; accepted: {', '.join(RUNTIMES)}")
    reader = _load(str(spec), given_overrides(charset, min_length, max_length, resize), runtime)
    if runtime == "onnx" and not isinstance(reader.model, export.OnnxModel):
        reader = Reader(export.cached_onnx(reader.model), reader.info, f"{reader.source} (ONNX Runtime)")
    return reader


def _load(spec: str, given: dict, runtime: str) -> Reader:
    if is_uri(spec):
        raise ModelLoadError(f"{spec} is an MLflow URI: zoo.load (zoo.loading) reads it from the tracking store")
    path = Path(spec)
    if not path.exists() and (PRETRAINED_DIR / spec / CARD_FILE).is_file():
        path = PRETRAINED_DIR / spec
    if path.is_dir():
        return _load_folder(path, given, runtime)
    if path.is_file() and path.name in MODEL_FILES and (path.parent / CARD_FILE).is_file():
        # that file of its folder, its card's sha256 checked
        return _load_folder(path.parent, given, "onnx" if path.name == ONNX_FILE else "keras")
    if path.is_file() and path.suffix == ".keras":
        card = _read_card(path.parent / CARD_FILE) if (path.parent / CARD_FILE).is_file() else {}
        return Reader(load_keras(path), ModelInfo.from_metadata({**card, **given}, str(path)), str(path))
    raise ModelLoadError(f"no model {spec!r}: expected a shipped model ({', '.join(shipped()) or 'none shipped'}), "
                         f"a folder with {CARD_FILE} and {MODEL_FILE} or {ONNX_FILE}, a .keras file, or an MLflow URI "
                         "(models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN_ID/model)")


URI_PREFIXES = ("models:/", "runs:/", "file:", "mlflow-artifacts:")  # read from a tracking store (zoo.loading)


def is_uri(spec: str) -> bool:
    return str(spec).startswith(URI_PREFIXES)


def given_overrides(charset, min_length, max_length, resize=None) -> dict:
    if resize and resize not in images.RESIZES:
        raise ValueError(f"unknown resize {resize!r}; accepted: {', '.join(images.RESIZES)}")
    return {key: value for key, value in (("charset", charset), ("min_length", min_length),
                                          ("max_length", max_length), ("resize", resize)) if value}


def with_overrides(reader: Reader, given: dict) -> Reader:
    if not given:
        return reader
    info = ModelInfo.from_metadata({**reader.info.metadata(), **given}, reader.source)
    return Reader(reader.model, info, reader.source)


def _read_card(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ModelLoadError(f"unreadable model card {path}: {error}") from None


def card_sha256(card: dict, file: str) -> str | None:
    """The sha256 a card records for one of its folder's files (cards before model.onnx was shipped
    recorded model.keras' alone, as a string)."""
    recorded = card.get("sha256")
    if isinstance(recorded, str):
        return recorded if file == MODEL_FILE else None
    return (recorded or {}).get(file)


def vouched(folder: Path, card: dict, file: str) -> bool:
    """Whether `folder/file` exists and belongs to the card: a card that records sha256s lists it (a
    model.onnx left from the model shipped before is not read), or the card records none (your own folder)."""
    return (folder / file).is_file() and (card.get("sha256") is None or card_sha256(card, file) is not None)


def checked_file(folder: Path, card: dict, file: str) -> Path:
    """`folder/file`, refused unless it matches the sha256 its card records for it."""
    path, expected = folder / file, card_sha256(card, file)
    if expected is None and card.get("sha256") is not None:
        raise ModelLoadError(f"{path} is not listed in its card's sha256s: it does not belong to this model")
    if expected and sha256(path) != expected:
        raise ModelLoadError(f"{path} does not match the sha256 in its card ({expected[:12]}...): "
                             "the file was changed or damaged; refusing to load it")
    return path


def _folder_runtime(folder: Path, card: dict, runtime: str) -> str:
    """Which of the folder's files to read: "onnx" or "keras"."""
    has_onnx, has_keras = vouched(folder, card, ONNX_FILE), vouched(folder, card, MODEL_FILE)
    if runtime in ("onnx", "keras") and (folder / (ONNX_FILE if runtime == "onnx" else MODEL_FILE)).is_file():
        return runtime  # asked for by name: checked against the card (an unlisted file is refused, never skipped)
    if runtime == "auto" and has_onnx and export.onnxruntime_available():
        return "onnx"
    if has_keras and importlib.util.find_spec("keras") is not None:
        return "keras"  # runtime "onnx" without a model.onnx: load() converts it
    if has_onnx:
        raise ModelLoadError(f"{folder} has {ONNX_FILE}, but onnxruntime is not installed: pip install onnxruntime")
    raise ModelLoadError(f"{folder} is not a readable model folder: expected {CARD_FILE} with {ONNX_FILE} "
                         f"(read by onnxruntime) or {MODEL_FILE} (read by Keras: pip install -e '.[train]')")


def _load_folder(folder: Path, given: dict, runtime: str) -> Reader:
    if not (folder / CARD_FILE).is_file():
        raise ModelLoadError(f"{folder} is not a model folder: expected {CARD_FILE} and {MODEL_FILE} or {ONNX_FILE} in it")
    card = _read_card(folder / CARD_FILE)
    info = ModelInfo.from_metadata({**card, **given}, str(folder))
    if _folder_runtime(folder, card, runtime) == "onnx":
        path = checked_file(folder, card, ONNX_FILE)
        try:
            model = export.OnnxModel(path)
        except Exception as error:  # noqa: BLE001 - ONNX Runtime raises its own (pybind) error types
            raise ModelLoadError(f"cannot load {path} with ONNX Runtime: {error}") from None
        return Reader(model, info, f"{folder} (ONNX Runtime)")
    return Reader(load_keras(checked_file(folder, card, MODEL_FILE)), info, str(folder))


def load_keras(path: Path):
    import zipfile
    import zlib

    try:
        import keras
    except ImportError as error:
        raise ModelLoadError(f"reading {path} needs Keras ({error}): pip install -e '.[train]' (shipped models "
                             f"also read from their {ONNX_FILE} with onnxruntime alone: --runtime auto)") from None

    if not zipfile.is_zipfile(path):  # Keras would call a truncated or foreign file "not found"
        raise ModelLoadError(f"{path} exists but is not a complete .keras file (a .keras model is a zip "
                             "archive; this one is truncated, damaged or another format)")

    try:  # safe mode: a file that would run arbitrary code (Lambda layers) is refused
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile, zlib.error) as error:  # a damaged archive's CRC, too
        raise ModelLoadError(f"cannot load {path} as a Keras model: {error}") from None
    from zoo.models.builder import as_float32

    return as_float32(model)  # reads in float32 everywhere, like its exports


def shipped_card(name: str, folder: Path = PRETRAINED_DIR) -> dict | None:
    """The card of the model shipped as `name`, None when there is none."""
    path = folder / name / CARD_FILE
    return _read_card(path) if path.is_file() else None


def shipped_sha256(spec: str) -> str | None:
    """The sha256 of the model.keras shipped now as `spec` (None when `spec` names no shipped model): a
    run started from a shipped name records it, since a later ship under that name replaces the file."""
    card = shipped_card(spec) if spec and "/" not in spec and ":" not in spec else None
    return card_sha256(card, MODEL_FILE) if card else None


def beats_card(score: float, card: dict | None) -> bool:
    """Whether a run's test full-sequence accuracy beats the card's, compared at the card's precision: a
    float32 0.99470001 and a card's 0.9947 are a tie (the same run, or another run no better), never a win."""
    return card is None or round(score, CARD_DIGITS) > card["test"].get("seq_acc", 0)


SAME_TEST_KEYS = ("charset", "min_length", "max_length", "width", "height", "source", "test_seed", "test_size")


def run_task(params: dict[str, str]) -> dict[str, str]:
    """What a tracked run read and how it was tested (its `data.*` params), as text."""
    return {key: str(params.get(f"data.{key}", "")) for key in SAME_TEST_KEYS}


def card_task(card: dict) -> dict[str, str]:
    """The same for a shipped model's card (cards shipped before `task` was written: from their fields)."""
    if "task" in card:
        return {key: str(card["task"].get(key, "")) for key in SAME_TEST_KEYS}
    match = re.match(r"uint8 (\d+) x (\d+) x 3", card.get("input", ""))
    height, width = match.groups() if match else ("", "")
    return {"charset": card.get("charset", ""), "min_length": str(card.get("min_length", "")),
            "max_length": str(card.get("max_length", "")), "width": width, "height": height,
            "source": card.get("data_source", "captcha"), "test_seed": str(card.get("test_seed", "")),
            "test_size": str(card.get("test_size", ""))}


def why_not_ship(run: dict, score: float, card: dict | None) -> str | None:
    """None when the run (`tracking.model_run`) may replace what the card describes: nothing is
    shipped, or the run is the same task, tested on the same test, and better there. Else why not."""
    if card is None:
        return None
    shipped, candidate = card_task(card), run_task(run["params"])
    differences = [f"{key} {candidate[key]!r} instead of {shipped[key]!r}" for key in SAME_TEST_KEYS if candidate[key] != shipped[key]]
    if differences:
        return "another task or test (" + ", ".join(differences) + ")"
    if not beats_card(score, card):  # a tie at the card's precision keeps what is shipped (and never re-ships the same run)
        return f"{score:.2%} on the test set does not beat the shipped {card['test'].get('seq_acc', 0):.2%}"
    return None


def samples_in_all(samples: int, init: str | None) -> int:
    """`samples` plus every sample of the shipped model it started from (and that model's own start)."""
    card = shipped_card(init) if init else None
    if card is None:
        return samples
    return samples + (card.get("samples_in_all") or samples_in_all(card.get("samples_seen", 0), card.get("init")))


def write_card(folder: Path, card: dict) -> None:
    """card.json (replaced atomically: a reader never sees half a card) and README.md, the same card for people."""
    partial = folder / f".{CARD_FILE}.partial"
    partial.write_text(json.dumps(card, indent=2) + "\n")
    partial.replace(folder / CARD_FILE)
    (folder / "README.md").write_text(model_card_text(card))


def model_card_text(card: dict) -> str:
    test = card["test"]
    return "\n".join([
        f"# {card['name']}: `{card['arch']}` captcha reader",
        "",
        f"Reads {card['min_length']}-{card['max_length']} characters of `{card['charset']}` from {card['input']}.",
        "",
        f"- **Test** on {card['test_size']:,} fresh captchas (seed {card['test_seed']}"
        + (f", generator `{card['data_source']}`" if card.get("data_source", "captcha") != "captcha" else "")
        + "): full-sequence accuracy "
        f"**{test.get('seq_acc', float('nan')):.2%}**, character accuracy {test.get('char_acc', float('nan')):.2%}, "
        f"normalized edit distance {test.get('ned', float('nan')):.3f}",
        f"- **Trained** on {card['samples_seen']:,} samples: `{card['training_command']}`"
        + (f", starting from the weights of `{card['init']}` ("
           + (f"model.keras sha256 `{card['init_sha256']}`, as shipped under that name when it started; "
              if card.get("init_sha256") else "")
           + f"{card.get('samples_in_all', 0):,} samples in all)" if card.get("init") else ""),
        f"- **Parameters** {card['params']:,}; sha256 of "
        + ", ".join(f"{file} `{card_sha256(card, file)}`" for file in MODEL_FILES if card_sha256(card, file)),
        *sizes_lines(card),
        *calibration_lines(card),
        *([f"- **ONNX** `model.onnx` (opset {onnx['opset']}, read by ONNX Runtime without TensorFlow or Keras) reads "
           f"the {onnx['test_images']:,} test captchas exactly as model.keras does (confidences within "
           f"{onnx['max_confidence_difference']:.1g})"] if (onnx := card.get("onnx")) else []),
        *([f"- **Trained on** {machine['machine']}, Keras backend {machine['keras_backend']}, {machine['precision']}"]
          if (machine := card.get("trained_on")) and machine.get("machine") else []),
        f"- **Source** {card['source']['model_uri']} (run {card['source']['run_id']}, commit {card['source']['git_commit']})",
        "- **Versions** " + ", ".join(f"{k} {v}" for k, v in sorted(card["versions"].items())),
        "",
        "```python",
        "import zoo",
        f"zoo.load({card.get('load_as') or card['name']!r}).predict(['captcha.png'])",
        "```",
        f"`python -m zoo.predict --model {card.get('load_as') or card['name']} IMAGE_OR_DIR ...`",
        "",
    ])


def sizes_lines(card: dict) -> list[str]:
    from zoo.inference import sizes

    return sizes.card_lines(card)


def calibration_lines(card: dict) -> list[str]:
    """The card's calibration for people: what a confidence threshold keeps and how right that is."""
    if not (calibration := card.get("calibration")):
        return []
    after, before = calibration["calibrated"], calibration["as_trained"]
    at = next(value for key, value in after.items() if key.endswith("_precision"))
    lines = [f"- **Confidence** calibrated (temperature {card['temperature']:g}, fitted on {calibration['fitted_on']['images']:,} "
             f"captchas of seed {calibration['fitted_on']['seed']}); on the {calibration['test_images']:,} test captchas "
             f"expected calibration error {before['ece']:.4f} as trained, {after['ece']:.4f} calibrated; keeping readings at "
             f"confidence >= {at['threshold']} keeps **{at['coverage']:.1%}** of them at 99.9% precision "
             "(reliability diagram: `reliability.png`)", "", "  | confidence >= | readings kept | their accuracy | errors kept | right readings rejected |",
             "  |---|---|---|---|---|"]
    lines += [f"  | {row['threshold']} | {row['kept']:.2%} | {row['accuracy_of_kept']:.3%} | {row['errors_kept']} | "
              f"{row['right_rejected']} |" for row in after["thresholds"] if row["accuracy_of_kept"] is not None]
    return [*lines, ""]
