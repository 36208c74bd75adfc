"""`zoo COMMAND [ARGS...]`: every command of the zoo behind one console script (`zoo --version`).

`zoo train ...` is `python -m zoo.train ...`, and so on; `zoo COMMAND --help` says what each does.
Only the command asked for is imported (reading needs no training stack: `zoo predict`, `zoo serve`).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys

COMMANDS = {  # name: (module with main(argv), what it does)
    "predict": ("zoo.commands.predict", "read images with a shipped or tracked model"),
    "serve": ("zoo.commands.serve", "a reader over HTTP (MLflow's /invocations contract; light install)"),
    "pretrained": ("zoo.commands.pretrained", "list, ship, convert (ONNX) and calibrate shipped models"),
    "train": ("zoo.commands.train", "train one run (a preset, an architecture, overrides), tracked in MLflow"),
    "evaluate": ("zoo.commands.evaluate", "test a model on fresh captchas, tracked"),
    "compare": ("zoo.commands.compare", "a grid of architectures x presets x seeds (one machine or many workers)"),
    "campaign": ("zoo.commands.campaign", "a long grid that commits each finished run and ships the best"),
    "study": ("zoo.commands.study", "an Optuna study of the learning-rate phases"),
    "report": ("zoo.commands.report", "a comparison report from tracked runs or committed CSVs"),
    "speed": ("zoo.commands.speed", "the heads' inference speed, timed in one process"),
    "bench": ("zoo.commands.bench", "training and export benchmarks on this machine"),
    "draw": ("zoo.commands.pil_captchas", "draw labeled captcha folders (other generators)"),
    "import-runs": ("zoo.commands.import_runs", "copy another store's finished runs here (a GPU's packed store)"),
    "throughput": ("zoo.commands.throughput", "runs/hour of a grid spread over 1, 2, ... workers on this machine"),
    "emulate": ("zoo.commands.emulate", "run a command as a slower CPU would (CPU-time quota, oneDNN ISA cap)"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items()]
    return "usage: zoo COMMAND [ARGS...]   (zoo COMMAND --help; zoo --version)\n\ncommands:\n" + "\n".join(lines)


def version() -> str:
    try:
        return importlib.metadata.version("captcha-zoo")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(f"captcha-zoo {version()}")
        return 0
    if args[0] not in COMMANDS:
        print(f"zoo: unknown command {args[0]!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[args[0]][0])
    return module.main(args[1:])


if __name__ == "__main__":
    sys.exit(main())
