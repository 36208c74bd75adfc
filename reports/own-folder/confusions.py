"""Two recorded runs' test misreads side by side, and the images both read wrong by one confused pair.

    python reports/own-folder/confusions.py SET_A SET_B --folder DIR [--pair O0] [--tracking-uri sqlite:///mlflow.db]

SET_A and SET_B are rows of runs.csv (the runs stay in the MLflow store that trained them: their
`errors/misreads.csv` artifact). Prints each run's errors, how many of them are only the pair swapped
(e.g. O read as 0 or 0 as O) in each direction, and the paired counts (wrong in one run only, in both);
draws `<pair>-both.png` here: the test images that both runs misread only by the pair, with the label and
both readings, at their own size (the folder's images, DIR, split as training split it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import mlflow
import pandas as pd

HERE = Path(__file__).resolve().parent
SHOWN = 12  # images drawn


def misreads(client: mlflow.MlflowClient, run_id: str) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(run_id, "errors/misreads.csv", folder)
        return pd.read_csv(path, dtype={"label": str, "read": str}, keep_default_na=False).set_index("index")


def only_the_pair(table: pd.DataFrame, pair: str) -> pd.Series:
    """Whether each misread differs from its label by swaps within `pair` alone."""
    first, second = pair
    return table["label"].str.replace(first, second) == table["read"].str.replace(first, second)


def swaps(table: pd.DataFrame, pair: str) -> tuple[int, int]:
    """(first read as second, second read as first) over misreads that are only the pair swapped."""
    first, second = pair
    one_way = other_way = 0
    for label, read in zip(table["label"], table["read"]):
        for wanted, got in zip(label, read):  # same length: only swaps
            one_way += (wanted, got) == (first, second)
            other_way += (wanted, got) == (second, first)
    return one_way, other_way


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs=2, metavar="SET")
    parser.add_argument("--folder", required=True, help="the folder both runs trained and tested on")
    parser.add_argument("--pair", default="O0", help="two characters a reader confuses (default O0)")
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    args = parser.parse_args(argv)
    if len(args.pair) != 2 or args.pair[0] == args.pair[1]:
        print(f"error: --pair takes two different characters, got {args.pair!r}", file=sys.stderr)
        return 2
    rows = pd.read_csv(HERE / "runs.csv").set_index("set")
    unknown = [name for name in args.sets if name not in rows.index]
    if unknown:
        print(f"error: not in runs.csv: {', '.join(unknown)}", file=sys.stderr)
        return 2
    client = mlflow.MlflowClient(args.tracking_uri)
    tables = {name: misreads(client, rows.loc[name, "run_id"]) for name in args.sets}
    for name, table in tables.items():
        paired = table[only_the_pair(table, args.pair)]
        one_way, other_way = swaps(paired, args.pair)
        print(f"{name}: {len(table)} test misreads, {len(paired)} only {args.pair[0]}/{args.pair[1]} "
              f"({args.pair[0]} read as {args.pair[1]} {one_way} times, {args.pair[1]} as {args.pair[0]} {other_way})")
    a, b = (tables[name] for name in args.sets)
    print(f"wrong in {args.sets[0]} only: {len(a.index.difference(b.index))}, in {args.sets[1]} only: "
          f"{len(b.index.difference(a.index))}, in both: {len(a.index.intersection(b.index))}")
    both = a[only_the_pair(a, args.pair)].index.intersection(b[only_the_pair(b, args.pair)].index)
    print(f"misread only by {args.pair[0]}/{args.pair[1]} in both: {len(both)}")
    if len(both):
        _draw(args, a, b, list(both)[:SHOWN])
    return 0


def _draw(args, a: pd.DataFrame, b: pd.DataFrame, indices: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from zoo.config import make_config
    from zoo.data.stream import source_for

    test = source_for(make_config("bigru", "folder-cpu", 0, [f"data.source=folder:{args.folder}"]).data, "test")
    figure, axes = plt.subplots(len(indices), 1, figsize=(7, 1.1 * len(indices)), squeeze=False)
    for axis, index in zip(axes[:, 0], indices):
        axis.imshow(Image.open(Path(test.images.root) / test.images.files[index]).convert("RGB"))
        axis.set_title(f"{a.loc[index, 'label']}: read {a.loc[index, 'read']} / {b.loc[index, 'read']}", fontsize=9)
        axis.axis("off")
    figure.suptitle(f"test images both runs misread only by {args.pair[0]}/{args.pair[1]}\n"
                    f"({args.sets[0]} / {args.sets[1]})", fontsize=9)
    figure.tight_layout()
    out = HERE / f"{args.pair}-both.png"
    figure.savefig(out, dpi=90)
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
