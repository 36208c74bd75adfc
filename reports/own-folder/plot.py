"""Draw curves.png: validation full-sequence accuracy against minutes of training, a panel per set, one
line per recorded run (runs.csv, <set>-history.csv), its test accuracy as a star where the run ended:
the runs of the README's own-folder table (SHOWN), or every recorded run with --all.

    python reports/own-folder/plot.py [--all]

A run that continues another (`continues`) is drawn after it, so a second hour starts at the first's end.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
# the README table's runs: 10 minutes with today's defaults, 30 and 60 minutes as last measured
SHOWN = ("website-cm-8k-10min-mix2", "captcha-8k-10min-mix2", "pil-4k-10min-mix2", "wide-4k-10min-crop2",
         "website-cm-8k-30min", "captcha-8k-30min", "pil-4k-30min", "wide-4k-30min-crop2",
         "website-cm-8k", "captcha-8k", "pil-4k-cosine", "wide-4k-hour-mix2",
         "website-cm-8k-hour-avx2emu", "captcha-8k-hour-avx2emu", "pil-4k-hour-avx2emu", "wide-4k-hour-avx2emu",
         "wide-hollow-4k-hour-avx2", "captcha-8k-hour-avx2", "wide-hollow-4k-10min-q085", "wide-hollow-4k-hour-avx2emu",
         "captcha-8k-hour-avx2emu-aug05", "wide-hollow-4k-hour-avx2emu-aug05")  # the preset of 2026-12-07: half the samples augmented
# an AVX2-only box's hour, emulated (python -m zoo.emulate --isa AVX2): at 0.81 CPUs on the Zen 4 box, at 1.1
# on the Intel box (wide-hollow-4k, from folder-mix-hollow: the quota matching the real box's step there)
EMULATED = "avx2emu"
MEASURED_AVX2 = "hour-avx2"  # an hour on a real AVX2-only box (a 2-core AMD EPYC without AVX-512)


def minutes(row) -> float:
    return (pd.Timestamp(row.ended) - pd.Timestamp(row.started)).total_seconds() / 60


def main(argv: list[str]) -> None:
    runs = pd.read_csv(HERE / "runs.csv").set_index("set", drop=False)
    if "--all" not in argv:
        runs = runs.loc[[name for name in SHOWN if name in runs.index]]
    if "continues" not in runs:
        runs["continues"] = None
    sets = list(dict.fromkeys(row.data_source.rsplit("/", 1)[-1] for row in runs.itertuples()))
    columns = min(2, len(sets))
    rows_of_panels = -(-len(sets) // columns)
    figure, panels = plt.subplots(rows_of_panels, columns, figsize=(6 * columns, 4 * rows_of_panels), squeeze=False)
    panel_of = dict(zip(sets, panels.flat))
    end = 0.0
    for row in runs.itertuples():
        axes = panel_of[row.data_source.rsplit("/", 1)[-1]]
        colour = f"C{len(axes.get_lines()) // 2}"  # a line and a star per run: the next colour in its panel
        start = minutes(runs.loc[row.continues]) if isinstance(row.continues, str) else 0.0
        history = pd.read_csv(HERE / f"{row.set}-history.csv")
        # 10 / 30 / 60-minute budgets; dash-dot: the AVX2-only box's hour, emulated; thick: measured there
        style = "-." if EMULATED in row.set else ":" if minutes(row) < 15 else "--" if minutes(row) < 40 else "-"
        width = 2.4 if row.set.endswith(MEASURED_AVX2) else 1.2
        axes.plot(start + history["minutes"], 100 * history["val_seq_acc"], color=colour, marker=".", lw=width,
                  ls=style, label=f"{row.set}: test {100 * row.test_seq_acc:.2f}%")
        end = max(end, start + minutes(row))
        axes.plot(start + minutes(row), 100 * row.test_seq_acc, marker="*", markersize=13, color=colour,
                  markeredgecolor="black")
    for name, axes in panel_of.items():
        for hour in [m for m in (30, 60, 120) if m <= end + 5]:
            axes.axvline(hour, color="grey", lw=0.6, ls=":")
        axes.axhline(90, color="red", lw=0.6, ls="--")
        axes.set(title=name, xlabel="minutes since the run started", ylabel="validation full-sequence acc (%)")
        axes.set_ylim(bottom=max(0, axes.get_ylim()[0]), top=100.5)
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", fontsize=7)
    for axes in list(panels.flat)[len(sets):]:
        axes.set_visible(False)
    figure.suptitle("Own-folder training (folder-cpu) on 2-core CPUs (Zen 4 unless said): validation per epoch, test at "
                    "the end (star);\ndotted 10 min, dashed 30, solid 60; dash-dot: an AVX2-only box's hour emulated, "
                    "thick: measured on one")
    figure.tight_layout()
    figure.savefig(HERE / "curves.png", dpi=110)
    print(HERE / "curves.png")


if __name__ == "__main__":
    main(sys.argv[1:])
