"""The bar to beat on our own-folder sets: ddddocr zero-shot (the reader people install for generic
captchas) beside the shipped head start `folder-base` zero-shot, on each set's held-out test tenth
(the split `zoo.train --data folder:SET` makes).

    python -m venv /tmp/ddvenv && /tmp/ddvenv/bin/pip install ddddocr==1.6.1
    /tmp/ddvenv/bin/python reports/own-folder/ddddocr_bar.py /work/data/pil-4k /work/data/captcha-8k ...

Runs in a venv with ddddocr (not a zoo dependency; it brings onnxruntime and Pillow, which is all the
light zoo reader needs too). ddddocr's reading is upper-cased before it is compared (our labels are
0-9A-Z). Prints a Markdown table and the machine, and writes ddddocr.csv beside this script (rows of
the sets read replace theirs, other sets' rows are kept).
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout's zoo: its folder split and light reader

from zoo import loading  # noqa: E402
from zoo.data import folder_data  # noqa: E402


def cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            flags = Path("/proc/cpuinfo").read_text()
            return f"{line.split(':', 1)[1].strip()} ({'avx512_bf16' if 'avx512_bf16' in flags else 'avx2 only'})"
    return platform.processor()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path, help="labeled folders (labels.csv or names)")
    parser.add_argument("--label-pattern", default=r"^([^_.]+)", help="as data.label_pattern (default the zoo's)")
    args = parser.parse_args(argv)
    import ddddocr

    ocr = ddddocr.DdddOcr(show_ad=False)
    head_start = loading.load("folder-base")
    rows = []
    for folder in args.sets:
        _, _, test = folder_data.split(folder_data.scan(str(folder), args.label_pattern), 0.1, 0.1)
        paths = [Path(test.root) / name for name in test.files]
        started = time.perf_counter()
        dddd = sum(ocr.classification(path.read_bytes()).upper() == label for path, label in zip(paths, test.labels))
        seconds = time.perf_counter() - started
        ours = sum(reading is not None and reading.text == label for (_, reading, _), label in
                   zip(head_start.read_files([str(path) for path in paths]), test.labels))
        rows.append({"set": folder.name, "test_images": len(paths), "ddddocr_seq_acc": dddd / len(paths),
                     "folder_base_seq_acc": ours / len(paths), "ddddocr_ms_per_image": 1000 * seconds / len(paths)})
        print(f"{folder.name}: ddddocr {dddd / len(paths):.2%}, folder-base {ours / len(paths):.2%} of {len(paths)}", flush=True)
    machine = cpu()
    print(f"\nmachine: {machine}; ddddocr {ddddocr.__version__ if hasattr(ddddocr, '__version__') else '1.6.1'}\n")
    print("| set | test images | ddddocr zero-shot | folder-base zero-shot |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['set']} | {row['test_images']} | {row['ddddocr_seq_acc']:.2%} | {row['folder_base_seq_acc']:.2%} |")
    measured = [{**row, "machine": machine, "measured": time.strftime("%Y-%m-%d")} for row in rows]
    path, read_now = HERE / "ddddocr.csv", {row["set"] for row in measured}
    kept = []  # rows of the sets read now replace theirs; the other sets' stay
    if path.exists():
        with path.open() as file:
            kept = [row for row in csv.DictReader(file) if row["set"] not in read_now]
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(measured[0]))
        writer.writeheader()
        writer.writerows([*kept, *measured])
    return 0


if __name__ == "__main__":
    sys.exit(main())
