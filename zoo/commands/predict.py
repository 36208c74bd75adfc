"""`python -m zoo.predict [--model NAME|PATH|URI] [--beam N] [--any-length] [--format text|csv|json] [--labels CSV | --label-pattern REGEX] [--resize MODE] [--runtime keras|onnx] IMAGE_OR_DIR ...`

Reads every image file (folders: their image files, sorted) with a zoo model and prints each file,
its text and the decode's confidence. A file that cannot be read gets its own error line and the
others are still read. `--labels labels.csv` (columns file,label; file as given or its name), or
`--label-pattern REGEX` (the label is the first group of each file name, as `data.label_pattern` in
training: `'^([^-]+)'` reads `7K2PQ-0031.png` as 7K2PQ), adds whether each reading is right and the accuracy.

Shipped models are read from their `model.onnx` by ONNX Runtime (`--runtime auto`, the default), so
reading needs numpy, Pillow and onnxruntime only: `pip install -e .`. Other models (.keras files,
MLflow URIs) are read by Keras (`pip install -e '.[train]'`); `--runtime onnx` converts them once
(cached: zoo.inference.export.cached_onnx), `--runtime keras` reads a shipped model's model.keras.

A reading is held to the label lengths the model was trained on (its card's min_length..max_length):
a decode of another length (a doubled character merged into one) is read again by beam search and
the most probable labelling of an allowed length taken. `--any-length` reads as the reference does
(plain decode, cut to the longest label).

Exit status: 0 all read, 1 some file could not be read, 2 bad arguments or model.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path
from typing import Callable

from zoo import cli
from zoo.data.images import RESIZES
from zoo.inference.export import RUNTIMES
from zoo.inference.pretrained import DEFAULT_MODEL

COLUMNS = ("file", "text", "confidence", "error")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = cli.parser("python -m zoo.predict", __doc__)
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files, or folders of them")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"shipped name, model folder, .keras file, models:/... or runs:/... (default {DEFAULT_MODEL})")
    parser.add_argument("--beam", type=int, default=0, metavar="N", help="beam search of width N (default: greedy)")
    parser.add_argument("--any-length", action="store_true", help="do not hold readings to the model's label lengths "
                        "(the reference's plain decode, cut to the longest label)")
    parser.add_argument("--format", choices=("text", "csv", "json"), default="text",
                        help="text: one aligned line per file (default); csv or json: one record per file "
                        "(json also gives each character's confidence: its chance given the other characters)")
    labelled = parser.add_mutually_exclusive_group()
    labelled.add_argument("--labels", type=Path, help="CSV with columns file,label: also print accuracy")
    labelled.add_argument("--label-pattern", metavar="REGEX", help="labels from the file names (the first group, "
                          "as data.label_pattern in training, e.g. '^([^_.]+)'): also print accuracy")
    parser.add_argument("--batch-size", type=int, default=128, help="images read per model call (default 128)")
    parser.add_argument("--resize", choices=RESIZES, help="how an image of another size is fitted to the model's input "
                        "(default: the model's own, in its card or metadata): keep (the drawing's pixel scale, for the "
                        "`captcha` package drawn at any size), stretch (for images rescaled from the model's size), pad, "
                        "ink-stretch, ink-pad")
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto",
                        help="auto: a shipped model's model.onnx in ONNX Runtime, anything else in Keras (default); "
                        "keras; onnx (a model without its .onnx is converted once: needs the train extra, ~20 s)")
    return parser.parse_args(argv)


def read_labels(path: Path) -> dict[str, str]:
    try:
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            columns = reader.fieldnames or []
            if not {"file", "label"} <= set(columns):
                raise ValueError(f"labels {path} needs columns file,label; it has {', '.join(columns) or 'none'}")
            return {row["file"]: row["label"] or "" for row in reader}
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ValueError(f"cannot read labels {path}: {error}") from None


def name_labels(pattern: str) -> Callable[[str], str | None]:
    """A file path -> the label its name gives through `pattern` (None where it gives none)."""
    from zoo.data.folder_data import label_from_name

    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ValueError(f"--label-pattern {pattern!r} is not a regular expression: {error}") from None
    return lambda path: label_from_name(compiled, Path(path).name) or None


def printable(path: str) -> str:
    """A file name as text that can be printed and written anywhere: bytes that are not UTF-8 (kept by
    Python as surrogates) are shown as \\xNN escapes."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def results_table(results, labels: dict[str, str] | Callable[[str], str | None] | None) -> list[dict]:
    """One record per file: file, text, confidence, error (None where not applicable) and, with labels,
    label and correct (None where the file has no label or was not read)."""
    rows = []
    label_of = None if labels is None else labels if callable(labels) else (
        lambda path: labels.get(path, labels.get(Path(path).name)))
    for path, reading, error in results:
        row = {"file": printable(str(path)), "text": reading.text if reading else None,
               "confidence": round(reading.confidence, 4) if reading else None, "error": error}
        if reading is not None and reading.characters is not None:
            row["characters"] = [round(p, 4) for p in reading.characters]
        if reading is not None and reading.note:
            row["note"] = reading.note
        if label_of is not None:
            label = label_of(str(path))
            row["label"] = label
            row["correct"] = None if label is None or reading is None else reading.text == label
        rows.append(row)
    return rows


def print_table(rows: list[dict], fmt: str, labelled: bool) -> None:
    columns = [*COLUMNS, *(("label", "correct") if labelled else ())]
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: "" if row.get(key) is None else row[key] for key in columns} for row in rows)
    elif fmt == "json":
        print(json.dumps([{key: row[key] for key in [*columns, "characters", "note"] if row.get(key) is not None}
                          for row in rows], indent=1))
    else:
        for row in rows:
            if row["error"] is not None:
                print(f"{row['file']}\tERROR: {row['error']}")
            else:
                correct = row.get("correct")
                mark = "" if correct is None else "\tok" if correct else f"\tWRONG (label {row['label']})"
                print(f"{row['file']}\t{row['text']}\t{row['confidence']:.4f}{mark}")


def size_suggestions(own_sizes: str) -> list[str]:
    """Shipped models trained on many drawing sizes (data.draw_sizes), for images far from this model's input."""
    from zoo.inference import pretrained

    lines = []
    for name in pretrained.shipped():
        card = pretrained.shipped_card(name)
        if card.get("draw_sizes") and card["draw_sizes"] != own_sizes:
            measured = ", ".join(f"{size} {accuracy:.2%}" for size, accuracy in card.get("sizes", {}).get("seq_acc", {}).items())
            lines.append(f"note: --model {name} was trained on captchas drawn at {card['draw_sizes']} pixels"
                         + (f" (reads {measured})" if measured else ""))
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from zoo import loading

    try:
        if args.beam < 0 or args.batch_size <= 0:
            raise ValueError("--beam must be >= 0 and --batch-size positive")
        labels = read_labels(args.labels) if args.labels else name_labels(args.label_pattern) if args.label_pattern else None
        reader = loading.load(args.model, runtime=args.runtime, resize=args.resize)
    except (ValueError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    readings = reader.read_files(args.inputs, args.beam or None, args.batch_size, args.any_length,
                                 characters=args.format == "json")  # JSON also has each character's confidence
    rows = results_table(readings, labels)
    print_table(rows, args.format, labels is not None)
    failed = sum(row["error"] is not None for row in rows)
    summary = [f"{len(rows) - failed} read, {failed} failed"]
    if labels is not None:
        scored = [row["correct"] for row in rows if row["correct"] is not None]
        unlabeled = len(rows) - failed - len(scored)
        if scored:
            summary.append(f"full-sequence accuracy {sum(scored) / len(scored):.2%} on {len(scored)} labeled")
        if unlabeled:
            summary.append(f"{unlabeled} without a label")
    print("; ".join(summary), file=sys.stderr)
    far = [row for row in rows if row.get("note")]
    if far:
        print(f"note: {len(far)} of {len(rows)} images have a shape far from the model's input, e.g. {far[0]['file']}: "
              f"{far[0]['note']}", file=sys.stderr)
        for line in size_suggestions(reader.info.draw_sizes):
            print(line, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
