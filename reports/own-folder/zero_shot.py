"""Head starts read our own-folder sets with no training on them (zero-shot): each model reads each
set's held-out test tenth (the split `zoo.train --data folder:SET` makes), the numbers that stand
beside ddddocr's (ddddocr_bar.py) in the own-folder table.

    python reports/own-folder/zero_shot.py /work/data/pil-4k /work/data/captcha-8k ... \
        --model folder-base --model models:/m-...      # a shipped name, a model folder or an MLflow URI

Prints a Markdown table and the machine, and writes zero_shot.csv beside this script (rows of the
same set and model are replaced, others kept).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the checkout's zoo

import pandas as pd  # noqa: E402

from zoo import loading  # noqa: E402
from zoo.data import folder_data  # noqa: E402
from zoo.machine import hardware  # noqa: E402

CSV = HERE / "zero_shot.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path, help="labeled folders (labels.csv or names)")
    parser.add_argument("--model", action="append", required=True, help="a model to read with (repeatable)")
    parser.add_argument("--name", action="append", help="what to call each --model in the table (default: as given)")
    parser.add_argument("--label-pattern", default=r"^([^_.]+)", help="as data.label_pattern (default the zoo's)")
    args = parser.parse_args(argv)
    names = args.name or args.model
    if len(names) != len(args.model):
        parser.error(f"give one --name per --model ({len(args.model)} models, {len(names)} names)")
    rows = []
    for model, name in zip(args.model, names):
        reader = loading.load(model)
        for folder in args.sets:
            _, _, test = folder_data.split(folder_data.scan(str(folder), args.label_pattern), 0.1, 0.1)
            paths = [str(Path(test.root) / file) for file in test.files]
            started = time.perf_counter()
            right = sum(reading is not None and reading.text == label
                        for (_, reading, _), label in zip(reader.read_files(paths), test.labels))
            rows.append({"set": folder.name, "model": name, "test_images": len(paths), "seq_acc": right / len(paths),
                         "ms_per_image": 1000 * (time.perf_counter() - started) / len(paths),
                         "machine": hardware.machine_description(), "measured": time.strftime("%Y-%m-%d")})
            print(f"{name} on {folder.name}: {right / len(paths):.2%} of {len(paths)}", flush=True)
    new = pd.DataFrame(rows)
    if CSV.is_file():
        old = pd.read_csv(CSV)
        old = old[~old.set_index(["set", "model"]).index.isin(new.set_index(["set", "model"]).index)]
        new = pd.concat([old, new], ignore_index=True)
    new.to_csv(CSV, index=False)
    table = new.pivot_table(index="set", columns="model", values="seq_acc")
    lines = ["| set | " + " | ".join(table.columns) + " |", "|---" * (len(table.columns) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(f"{100 * value:.2f}%" for value in row) + " |" for name, row in table.iterrows()]
    print("\n" + "\n".join(lines) + f"\n\nmachine: {hardware.machine_description()}; written to {CSV}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
