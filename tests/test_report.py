"""A comparison grid run for real (smoke budget, 2 archs x 1 seed) and the report built from its
MLflow store; the statistics over seeds and presets from the committed tables of real grids
(reports/heads: 10 heads x 3 seeds, reports/phases: 3 presets x 3 seeds), which cost no training."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from zoo.commands import report as report_command, speed as speed_command
from zoo.reporting import checks as checks_lib, report
from zoo.grids.compare import load_grid
from zoo.config import ConfigError, repo_path
from zoo.tracking.run_tables import RunTables

pytestmark = pytest.mark.xdist_group("report-grid")  # one worker runs the shared grid once
REPO = Path(__file__).resolve().parent.parent
GRID = """
kind = "comparison"
experiment = "{experiment}"
preset = "smoke"
archs = ["bigru", "gru"]
seeds = [0]
overrides = {{ checkpoint_dir = "{checkpoints}", "tracking.log_model" = false }}
"""


def zoo(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True,
                          env=env or os.environ.copy())


@pytest.fixture(scope="session")
def trained_grid(tmp_path_factory, data_cache):
    """One real grid in a temp MLflow store, trained once for the whole test session: the first
    xdist worker to get here trains it under a lock in the folder all workers share, the others
    wait and read it (xdist may hand this module's tests to both workers; training it twice cost
    ~2 minutes of the suite)."""
    import fcntl
    import json

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / "report-grid"
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with open(shared / "report-grid.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        outcome = folder / "outcome.json"
        if not outcome.is_file():
            folder.mkdir(exist_ok=True)
            env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "ZOO_CACHE_DIR": str(data_cache)}
            config = folder / "grid.toml"
            config.write_text(GRID.format(experiment="grid-test", checkpoints=folder / "ckpt"))
            runs = [zoo("zoo.compare", str(config), cwd=folder, env=env) for _ in range(2)]
            outcome.write_text(json.dumps([vars(run) for run in runs]))
        first, second = (subprocess.CompletedProcess(**run) for run in json.loads(outcome.read_text()))
    return folder, folder / "grid.toml", first, second, uri, str(data_cache)


@pytest.fixture
def grid_store(trained_grid, monkeypatch):
    """The shared grid's store as this test's tracking store (the environment restored after it)."""
    folder, config, first, second, uri, cache = trained_grid
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("ZOO_CACHE_DIR", cache)
    mlflow.set_tracking_uri(uri)
    yield folder, config, first, second
    mlflow.set_tracking_uri(None)


def finished_runs():
    client = MlflowClient()
    experiment = client.get_experiment_by_name("grid-test")
    return client.search_runs([experiment.experiment_id])


@pytest.mark.slow
def test_grid_runs_every_arch_and_seed_once_and_skips_them_on_rerun(grid_store):
    _, _, first, second = grid_store
    assert first.returncode == 0, first.stderr[-3000:]
    runs = finished_runs()
    assert sorted(run.info.run_name for run in runs) == ["bigru-smoke-s0", "gru-smoke-s0"]
    assert all(run.info.status == "FINISHED" for run in runs)
    assert second.returncode == 0 and second.stdout.count("already finished") == 2
    assert len(finished_runs()) == 2


@pytest.mark.slow
def test_report_table_matches_the_runs(grid_store):
    folder, _, _, _ = grid_store
    out = folder / "report"
    result = zoo("zoo.report", "--experiment", "grid-test", "--out", str(out), cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    tables = RunTables.from_csv(out)
    summary = report.summarize(tables, "bigru")
    assert list(summary["variant"])[0] == "bigru" and set(summary["variant"]) == {"bigru", "gru"}
    assert list(summary["seeds"]) == [1, 1]
    for arch in ("bigru", "gru"):
        (run,) = [run for run in finished_runs() if run.data.tags["arch"] == arch]
        row = summary[summary["variant"] == arch].iloc[0]
        for metric in ("test_seq_acc", "test_char_acc", "test_ned", "params"):
            assert row[metric] == pytest.approx(run.data.metrics[metric]), (arch, metric)
    assert summary.loc[summary["variant"] == "bigru", "params"].item() == 793_541
    assert len(tables.curves) == 2 * 2 and set(tables.curves["epoch"]) == {1, 2}
    assert set(tables.char_errors["arch"]) == {"bigru", "gru"} and len(tables.char_errors) == 2 * 36
    readme = (out / "README.md").read_text()
    assert "| bigru | 1 |" in readme and "| gru | 1 |" in readme and "python -m zoo.report --experiment grid-test" in readme
    # where and how each run trained, from its params: kept in runs.csv and said in the report
    from zoo.machine import hardware

    setup = tables.runs[["keras_backend", "precision", "machine"]].drop_duplicates()
    assert setup.values.tolist() == [["tensorflow", finished_runs()[0].data.params["train.precision_resolved"],
                                      hardware.machine_description()]]
    assert f"trained on (backend · precision · machine: runs): `tensorflow · {setup['precision'].item()} · " in readme
    assert "backend/precision setups" not in readme  # one setup: nothing to say about agreement across setups
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 5 and "<table" in page  # paired.png: each run logged its misreads
    for name in ("accuracy.png", "learning_curves.png", "pareto.png", "character_errors.png"):
        assert (out / name).stat().st_size > 5_000, name
    rebuilt = folder / "rebuilt"
    again = zoo("zoo.report", "--from-csv", str(out), "--out", str(rebuilt), cwd=folder)
    assert again.returncode == 0, again.stderr[-3000:]
    assert pd.read_csv(rebuilt / "runs.csv").equals(pd.read_csv(out / "runs.csv"))
    table = lambda text: [line for line in text.splitlines() if line.startswith("| ")]  # noqa: E731
    assert table((rebuilt / "README.md").read_text()) == table(readme)


@pytest.mark.slow
def test_report_on_an_unknown_or_empty_experiment_is_a_clear_error(grid_store):
    folder, _, _, _ = grid_store
    unknown = zoo("zoo.report", "--experiment", "no-such-thing", cwd=folder)
    assert unknown.returncode == 2 and "no experiment 'no-such-thing'" in unknown.stderr and "grid-test" in unknown.stderr
    MlflowClient().create_experiment("empty-one")
    empty = zoo("zoo.report", "--experiment", "empty-one", cwd=folder)
    assert empty.returncode == 2 and "has no finished zoo runs" in empty.stderr
    assert not (folder / "reports").exists()


def test_a_rebuild_from_a_missing_or_empty_folder_says_which(tmp_path, capsys):
    assert report_command.main(["--from-csv", str(tmp_path / "nowhere")]) == 2
    assert f"no report folder {tmp_path / 'nowhere'}: give a folder with runs.csv" in capsys.readouterr().err
    assert report_command.main(["--from-csv", str(tmp_path)]) == 2
    assert f"{tmp_path} lacks runs.csv" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()

@pytest.mark.parametrize("text, message", [
    ('kind = "comparison"\nexperiment = "x"\narchs = ["bigru"]\nseedz = [0]', "unknown key(s) seedz; accepted: experiment, preset"),
    ('kind = "comparison"\nexperiment = "x"\nseeds = 3', "seeds: expected list, got 3"),
    ('kind = "comparison"\nexperiment = "x"\narchs = ["nosuch*"]', "matches no registered model"),
    ('kind = "comparison"\nexperiment = "x"\nseeds = []', "seeds must be a non-empty list"),
    ('kind = "comparison"\nexperiment = "x"\npreset = "huge"', "unknown preset 'huge'"),
    ('kind = "comparison"\nexperiment = "x"\npresets = ["tiny", "huge"]', "unknown preset 'huge'"),
    ('kind = "comparison"\nexperiment = "x"\npreset = "tiny"\npresets = ["smoke"]', "not both"),
    ('kind = "comparison"\nexperiment = "x"\npresets = ["tiny", "tiny"]', "presets repeat"),
    ('kind = "comparison"\nexperiment = "x"\npresets = []', "presets must be a non-empty list"),
    ('kind = "comparison"\nexperiment = "x"\noverrides = { "train.batch_size" = 0 }', "batch_size"),
    ('experiment = "x"', 'kind must be "comparison"'),
])
def test_bad_grid_configs_fail_before_anything_runs(tmp_path, text, message):
    path = tmp_path / "grid.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=None) as error:
        load_grid(path)
    assert message in str(error.value)


def test_a_grid_of_presets_trains_every_arch_preset_and_seed(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('kind = "comparison"\nexperiment = "x"\narchs = ["bigru"]\npresets = ["tiny-reference-phases", "tiny"]\nseeds = [0, 1]')
    grid = load_grid(path)
    names = [config.run_name for config in grid.run_configs()]
    assert names == ["bigru-tiny-reference-phases-s0", "bigru-tiny-reference-phases-s1", "bigru-tiny-s0", "bigru-tiny-s1"]


def test_the_seeds_of_a_committed_grid_are_averaged_with_their_intervals():
    """reports/heads: real tiny runs, 3 seeds of each head; the summary is their mean and a 95% interval
    within 0..1 (for full-sequence accuracy the 1,024 test captchas are drawn again too; the other metrics
    stay within what the seeds reached), and Holm's correction never makes a p-value smaller."""
    tables = RunTables.from_csv(REPO / "reports" / "heads")
    runs = tables.runs
    assert tables.compares == "architecture" and runs.groupby("arch").size().min() >= 2
    built = report.build(tables, "bigru")
    summary = built.summary.set_index("variant")
    assert list(built.summary["variant"])[0] == "bigru" and set(summary.index) == set(runs["arch"])
    for arch, group in runs.groupby("arch"):
        assert summary.loc[arch, "seeds"] == len(group)
        for metric in ("test_seq_acc", "test_char_acc", "test_ned"):
            low, mean, high = (summary.loc[arch, f"{metric}{end}"] for end in ("_low", "", "_high"))
            assert mean == pytest.approx(group[metric].mean()), (arch, metric)
            if metric == "test_seq_acc":
                assert 0 <= low < mean < high <= 1, arch
            else:
                assert group[metric].min() <= low < high <= group[metric].max(), (arch, metric)  # 3 seeds never agree
        if arch != "bigru":
            assert summary.loc[arch, "p_holm"] >= summary.loc[arch, "p_vs_baseline"]
            assert 0 <= summary.loc[arch, "p_beats_baseline"] <= 1
        baseline = runs.loc[runs["arch"] == "bigru", "test_seq_acc"].mean()
        assert summary.loc[arch, "diff_vs_baseline"] == pytest.approx(group["test_seq_acc"].mean() - baseline)
    assert built.findings[0].startswith(f"{len(summary)} architectures, ")


def test_samples_to_the_references_published_accuracy_are_reported_beside_90_95_99():
    """reports/reference-512k-levers: per target, the first epoch whose validation reaches it, averaged
    over the seeds that reached it; 99.46% is the reference's figure on 10,000."""
    assert [report.threshold_key(t) for t in report.THRESHOLDS] == ["90", "95", "99", "99.46"]
    tables = RunTables.from_csv(REPO / "reports" / "reference-512k-levers")
    summary = report.summarize(tables, "reference-512k-b32-nodrop").set_index("variant")
    for threshold in report.THRESHOLDS:
        key = report.threshold_key(threshold)
        for variant, group in tables.runs.groupby("variant"):
            firsts = []
            for run_id in group["run_id"]:
                curve = tables.curves[tables.curves["run_id"] == run_id].sort_values("samples_seen")
                over = curve.loc[curve["val_seq_acc"] >= threshold, "samples_seen"]
                firsts += [over.iloc[0]] if len(over) else []
            assert summary.loc[variant, f"reached_{key}"] == len(firsts), (variant, key)
            if firsts:
                assert summary.loc[variant, f"samples_to_{key}"] == pytest.approx(np.mean(firsts)), (variant, key)
    assert summary["reached_99"].sum() > 0
    shown = report.display_table(summary.reset_index(), tables.compares)
    assert list(shown.columns[-4:]) == ["samples to 90%", "samples to 95%", "samples to 99%", "samples to 99.46%"]
    # these runs checked 1,024 captchas an epoch: 99.46% means at most 5 misread, which one run reached
    assert (shown["samples to 99.46%"] == "not reached").sum() == (summary["reached_99.46"] == 0).sum() == len(summary) - 1


def test_report_folders_merge_into_one_comparison_that_rebuilds_on_its_own(tmp_path, capsys):
    """The 512k levers report as the campaigns' folders make it: the GPU campaign's batch-32 run and the
    CPU campaigns' runs, merged by zoo.report itself (it was once a script outside the repository)."""
    reports = REPO / "reports"
    folders = [reports / name for name in ("campaign-reference-gpu", "campaign-reference-512k-nodrop", "campaign-reference-512k-o0",
                                           "campaign-reference-512k-o0x8")]
    presets = "reference-512k-b32,reference-512k-b32-nodrop,reference-512k-b32-nodrop-o0,reference-512k-b32-nodrop-o0x8"
    out = tmp_path / "levers"
    argv = ["--from-csv", *map(str, folders), "--presets", presets, "--out", str(out), "--baseline", "reference-512k-b32-nodrop"]
    assert report_command.main(argv) == 0
    merged, committed = RunTables.from_csv(out), RunTables.from_csv(reports / "reference-512k-levers")
    assert merged.experiment == "levers" and set(merged.runs["experiment"]) == {"levers"}
    assert set(merged.runs["run_id"]) == set(committed.runs["run_id"])  # the GPU campaign's other presets left out
    assert len(merged.curves) == len(committed.curves) and len(merged.char_errors) == len(committed.char_errors)
    note = (out / "notes.txt").read_text()
    assert "Merged from 4 report folder(s) by `python -m zoo.report --from-csv reports/campaign-reference-gpu" in note
    rebuilt = tmp_path / "rebuilt"
    assert report_command.main(["--from-csv", str(out), "--out", str(rebuilt), "--baseline", "reference-512k-b32-nodrop"]) == 0
    assert "Merged from 4 report folder(s)" in (rebuilt / "README.md").read_text()  # the note travels with the CSVs
    capsys.readouterr()
    assert report_command.main(["--from-csv", *map(str, folders[1:])]) == 2
    assert "needs --out" in capsys.readouterr().err
    assert report_command.main(["--from-csv", str(folders[1]), "--presets", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "no runs of preset(s) nope in the folders given; their presets: reference-512k-b32-nodrop" in capsys.readouterr().err


def test_a_merge_of_several_budgets_says_each_runs_budget(tmp_path):
    """128k runs (campaign-schedule-budgets) beside 512k ones (reference-512k-levers): the summary
    names the range and the table gets a samples column; one budget keeps the table as it was."""
    reports = REPO / "reports"
    out = tmp_path / "budgets"
    assert report_command.main(["--from-csv", str(reports / "campaign-schedule-budgets"), str(reports / "reference-512k-levers"),
                        "--presets", "reference-recipe-128k,reference-512k-b32-nodrop", "--out", str(out),
                        "--baseline", "reference-recipe-128k"]) == 0
    text = (out / "README.md").read_text()
    assert "2 presets, 1 seed each, 128,000 to 512,000 training samples per run (budgets differ: see the samples column)" in text
    assert "| reference-recipe-128k | 1 | 128.0k |" in text and "| reference-512k-b32-nodrop | 1 | 512.0k |" in text
    one_budget = report.build(RunTables.from_csv(reports / "reference-512k-levers"), "reference-512k-b32-nodrop")
    assert "samples" not in report.display_table(one_budget.summary, "preset").columns
    assert "512,000 training samples per run." in one_budget.findings[0]
    from zoo.reporting import figures

    merged = RunTables.from_csv(out)  # the curves beside their error on a log scale, the targets marked
    accuracy, error = figures.learning_curves(merged.curves, sorted(set(merged.runs["variant"])), report.THRESHOLDS).axes
    assert error.get_yscale() == "log" and len(error.get_lines()) == len(accuracy.get_lines()) + len(report.THRESHOLDS)
    assert [text.get_text() for text in error.texts] == ["90%", "95%", "99%", "99.46%"]


def test_a_merge_again_into_its_folder_keeps_its_notes_and_takes_the_new_runs(tmp_path):
    """A merged report grows as its campaigns finish runs: merging again into the same --out, without
    --note, keeps the notes written the first time and writes the merge line anew."""
    reports, out = REPO / "reports", tmp_path / "grown"
    folders = [str(reports / "campaign-schedule-budgets"), str(reports / "reference-512k-levers")]
    first = ["--from-csv", *folders, "--presets", "reference-recipe-128k,reference-512k-b32-nodrop", "--out", str(out)]
    assert report_command.main([*first, "--note", "Checks differ: 10,000 and 1,024."]) == 0
    again = ["--from-csv", *folders, "--presets", "reference-recipe-128k,reference-512k-b32-nodrop,reference-512k-b32-nodrop-o0x8",
             "--baseline", "reference-recipe-128k", "--out", str(out)]
    assert report_command.main(again) == 0
    notes = (out / "notes.txt").read_text().splitlines()
    assert notes[0] == "Checks differ: 10,000 and 1,024." and len(notes) == 2
    assert notes[1].startswith("Merged from 2 report folder(s)") and "--baseline reference-recipe-128k --out" in notes[1]
    assert notes[1].endswith("; 3 runs.") and len(RunTables.from_csv(out).runs) == 3


def test_a_committed_report_shows_no_machine_paths(tmp_path):
    assert repo_path(REPO / "reports" / "heads") == "reports/heads"
    assert repo_path(tmp_path / "out") == str(tmp_path / "out")  # outside the repository: as given
    tables = RunTables.from_csv(REPO / "reports" / "reference-512k-levers")
    facts = report.provenance(tables, REPO / "reports" / "reference-512k-levers", "reference-512k-b32-nodrop")
    assert facts["rebuild from CSV"] == ("python -m zoo.report --from-csv reports/reference-512k-levers "
                                         "--out reports/reference-512k-levers")
    campaign = REPO / "reports" / "campaign-reference-512k-o0"  # a campaign's folder: its STATE.md beside the report
    facts = report.provenance(RunTables.from_csv(campaign), campaign, "bigru")
    assert facts["train"] == "python -m zoo.campaign experiments/grids/campaign-reference-512k-o0.toml"


def test_one_seed_a_preset_is_never_given_a_p_value():
    """reports/reference-512k-levers: three presets, one or two seeds each (the baseline has one)."""
    tables = RunTables.from_csv(REPO / "reports" / "reference-512k-levers")
    findings = " ".join(report.build(tables, "reference-512k-b32-nodrop").findings)
    assert "p = nan" not in findings
    assert "reference-512k-b32 (+0.02 points, too few seeds for a test)" in findings


def test_runs_of_one_arch_on_several_presets_are_compared_per_preset(tmp_path):
    """reports/phases: real runs of bigru on three presets; the report compares the presets."""
    tables = RunTables.from_csv(REPO / "reports" / "phases")
    presets = sorted(set(tables.runs["preset"]))
    assert len(presets) >= 2 and set(tables.runs["arch"]) == {"bigru"}
    assert tables.compares == "preset" and set(tables.runs["variant"]) == set(presets)
    assert set(tables.curves["variant"]) == set(presets)
    built = report.build(tables, "tiny")
    assert built.baseline == "tiny" and list(built.summary["variant"])[0] == "tiny"
    assert set(built.summary["variant"]) == set(presets)
    assert built.findings[0].startswith(f"{len(presets)} presets, ")
    assert list(report.display_table(built.summary, tables.compares).columns[:2]) == ["preset", "seeds"]
    mixed = RunTables("mixed", tables.runs.assign(arch=["bigru"] * (len(tables.runs) - 1) + ["gru"]),
                      tables.curves, tables.char_errors)
    assert mixed.compares == "variant" and all(" · " in label for label in mixed.runs["variant"])
    written = report.write(built, tmp_path / "out")
    assert (tmp_path / "out" / "README.md") in written
    assert f"| tiny | {(tables.runs['preset'] == 'tiny').sum()} |" in (tmp_path / "out" / "README.md").read_text()


def _paired_tables(experiment="paired", presets=None):
    """Hand-made runs of two heads tested on the same 10 captchas: a misreads 1 and 2 in both seeds and 5 in
    one, b misreads 2, 3 and 4 in both seeds."""
    runs = pd.DataFrame({"experiment": experiment, "run_id": ["a0", "a1", "b0", "b1"], "arch": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
                         "preset": presets or ["smoke"] * 4, "config_hash": ["h1", "h2", "h3", "h4"], "git_commit": "abc", "samples": 32,
                         "test_size": 10, "test_seq_acc": [0.8, 0.7, 0.7, 0.7], "test_char_acc": 0.9, "test_ned": 0.1,
                         "params": 1, "model_mb": 1, "inference_images_per_s": 1, "latency_ms_per_image": 1, "train_time_s": 1})
    misreads = pd.DataFrame([(run, index, "ABCD", "ABC0") for run, indices in
                             {"a0": [1, 2], "a1": [1, 2, 5], "b0": [2, 3, 4], "b1": [2, 3, 4]}.items() for index in indices],
                            columns=["run_id", "index", "label", "read"])
    curves = pd.DataFrame({"run_id": runs["run_id"], "arch": runs["arch"], "seed": runs["seed"], "epoch": 1,
                           "samples_seen": 32, "val_seq_acc": 0.5})
    errors = pd.DataFrame({"run_id": runs["run_id"], "arch": runs["arch"], "seed": runs["seed"], "char": "0",
                           "occurrences": 4, "errors": 1})
    return RunTables(experiment, runs, curves, errors, misreads)


def test_paired_views_count_the_captchas_one_head_reads_in_every_seed_and_the_other_in_none(tmp_path):
    from zoo.reporting import paired

    tables = _paired_tables()
    assert paired.only_read_by(tables, "a", "b") == [3, 4]  # b misreads them in both seeds, a in none
    assert paired.only_read_by(tables, "b", "a") == [1]  # 5 is not misread by every a seed
    counts = paired.paired_counts(tables, "b", ["b", "a"])
    assert counts.to_dict("records") == [{"variant": "a", "only_variant_reads": 2, "only_baseline_reads": 1}]
    built = report.build(tables, "b")
    assert "paired.png" in built.figures
    row_name = built.figures["paired.png"].axes[0]  # the row's first cell names it with both counts, drawn even when empty
    assert row_name.get_ylabel() == "a\n+2 / -1" and row_name.axison
    report.write(built, tmp_path)
    assert "| 2 / 1 |" in (tmp_path / "README.md").read_text()
    again = RunTables.from_csv(tmp_path)  # the committed misreads.csv keeps the pairing
    assert paired.only_read_by(again, "a", "b") == [3, 4]
    assert set(again.misreads["read"]) == {"ABC0"}


def test_a_run_without_logged_misreads_gives_no_paired_view():
    from zoo.reporting import paired

    tables = _paired_tables()
    tables.misreads = tables.misreads[tables.misreads["run_id"] != "a1"]
    assert paired.only_read_by(tables, "a", "b") is None and paired.paired_counts(tables, "b", ["a", "b"]).empty


def test_a_grid_of_groups_compares_each_head_at_its_chosen_preset_and_lists_the_checks(tmp_path):
    """experiments/grids/heads-reference.toml: bilstm's rate check (seed 0) chose x2; its seeds 1-5 run there. The
    check's runs stay out of the comparison (the picked run would bias it) and are listed apart."""
    tables = _paired_tables("heads-reference", ["heads-reference-128k-lr-double"] * 4)
    runs = tables.runs.drop(columns="variant").assign(arch=["bilstm", "bilstm", "bigru", "bigru"], seed=[0, 1, 1, 2])
    runs["run_name"] = runs["arch"] + "-" + runs["preset"] + "-s" + runs["seed"].astype(str)
    tables = RunTables("heads-reference", runs, tables.curves, tables.char_errors, tables.misreads)
    built = report.build(tables, "bigru")
    assert set(built.tables.runs["run_id"]) == {"a1", "b0", "b1"}  # bilstm's seed 0 at x2 was the check; bigru's seeds 1-2
    assert built.tables.compares == "architecture" and set(built.summary["variant"]) == {"bilstm", "bigru"}
    assert list(built.checks.index) == ["bilstm"] and built.checks.loc["bilstm", "compared_at"] == "heads-reference-128k-lr-double"
    assert built.checks.loc["bilstm", "heads-reference-128k-lr-double"] == pytest.approx(0.8)
    report.write(built, tmp_path)  # the CSVs keep every run, the checks too: a campaign counts them as done from there
    assert set(RunTables.from_csv(tmp_path).runs["run_id"]) == {"a0", "a1", "b0", "b1"}
    text = (tmp_path / "README.md").read_text()
    assert "## Checks before the seeds" in text and "| compared at |" in text  # which rate each head got
    headline_text = (tmp_path / "headline.md").read_text()
    assert "from 3 finished runs of `heads-reference` (1 rate-check run kept apart" in headline_text


def test_a_head_compared_at_the_edge_of_the_rates_checked_is_named_in_the_report():
    """heads-reference's checks ran x0.5, x1 and x2 of the peak rate: a head whose best check was x2 (or
    x0.5) may do better still beyond it, and the report says so; one chosen at x1 is not named."""
    half, one, double = "heads-reference-128k-lr-half", "heads-reference-128k", "heads-reference-128k-lr-double"
    checks = pd.DataFrame({one: [0.97, 0.98, 0.96], double: [0.98, 0.97, 0.95], half: [0.96, 0.95, 0.97],
                           "compared_at": [double, one, half]}, index=["gru", "bigru", "lstm"])
    note = checks_lib.rate_edge_note(checks)
    assert f"gru is compared at the highest peak rate checked ({double}): its best rate may lie above it" in note
    assert f"lstm is compared at the lowest peak rate checked ({half}): its best rate may lie below it" in note
    assert "bigru" not in note
    assert checks_lib.rate_edge_note(checks.assign(compared_at=[one, one, "(no seeds yet)"])) is None


def test_a_rebuild_into_another_folder_keeps_the_one_process_speed_columns_and_provenance(tmp_path, capsys):
    """reports/heads-reference has speed.csv (zoo.speed), STATE.md and kept models; rebuilt elsewhere, its
    speed columns once fell back to the runs' own, timed on mixed machines, and it named zoo.compare."""
    source = REPO / "reports" / "heads-reference"
    assert report_command.main(["--from-csv", str(source), "--out", str(tmp_path / "rebuilt")]) == 0
    text = (tmp_path / "rebuilt" / "README.md").read_text()
    machine = pd.read_csv(source / "speed.csv")["machine"][0]
    assert "timed in one process by `python -m zoo.speed`" in text and machine in text
    assert (tmp_path / "rebuilt" / "speed.csv").read_bytes() == (source / "speed.csv").read_bytes()
    assert "train: `python -m zoo.campaign experiments/grids/heads-reference.toml`" in text  # its STATE.md says so
    assert "reports/heads-reference/models/" in text  # the models kept where they are

@pytest.mark.slow
def test_speed_columns_come_from_one_process_when_the_folder_has_them(tmp_path, capsys):
    """zoo.speed times every architecture of a grid back to back; the report takes its columns and names the machine."""
    grid = tmp_path / "fast.toml"
    grid.write_text('kind = "comparison"\nexperiment = "fast"\npreset = "tiny"\nseeds = [0]\n'
                    '[[groups]]\narchs = ["gru", "conv_only"]\n')
    assert speed_command.main([str(grid), "--out", str(tmp_path / "speed.csv"), "--repeats", "2"]) == 0
    table = pd.read_csv(tmp_path / "speed.csv")
    assert list(table["arch"]) == ["gru", "conv_only"] and (table["params"] > 0).all()
    assert (table["inference_images_per_s"] > 0).all() and (table["latency_ms_per_image"] > 0).all()
    assert table.loc[0, "params"] > table.loc[1, "params"]  # a recurrent head has weights conv_only lacks
    tables = _paired_tables()
    tables.runs["arch"] = tables.runs["arch"].map({"a": "gru", "b": "conv_only"})
    tables = RunTables("paired", tables.runs.drop(columns="variant"), tables.curves, tables.char_errors, tables.misreads)
    built = report.build(tables, "conv_only", report.load_speed(tmp_path))
    by_arch = built.summary.set_index("variant")
    assert by_arch.loc["gru", "params"] == table.loc[0, "params"]  # not the runs' logged 1
    assert any("timed in one process by `python -m zoo.speed`" in line and table["machine"][0] in line for line in built.findings)
    assert any("as each run logged them" in line for line in report.build(tables, "conv_only").findings)


def test_a_check_that_did_not_rerun_the_seeds_preset_takes_that_cell_from_the_same_seeds_compared_run(tmp_path, monkeypatch):
    """A rate check that runs x0.5 and x2 only, its x1 seed 0 being a compared run: that run is shown in the
    checks table too (heads-reference's bigru until 2026-12-05, when its seed 0 at x1 became a check)."""
    grid = tmp_path / "checks.toml"
    grid.write_text('kind = "comparison"\nexperiment = "heads-reference"\npreset = "heads-reference-128k"\nseeds = [0, 1]\n'
                    '[[groups]]\ncheck = true\narchs = ["bigru", "bilstm"]\n'
                    'presets = ["heads-reference-128k-lr-half", "heads-reference-128k-lr-double"]\nseeds = [0]\n'
                    '[[groups]]\narchs = ["bigru", "bilstm"]\n')
    monkeypatch.setattr(checks_lib, "grid_config_for", lambda experiment: str(grid))
    presets = ["heads-reference-128k-lr-half", "heads-reference-128k-lr-double", "heads-reference-128k", "heads-reference-128k"]
    tables = _paired_tables("heads-reference", presets)
    runs = tables.runs.drop(columns="variant").assign(arch="bigru", seed=[0, 0, 0, 1], test_seq_acc=[0.90, 0.95, 0.93, 0.94])
    runs["run_name"] = runs["arch"] + "-" + runs["preset"] + "-s" + runs["seed"].astype(str)
    other = runs.assign(arch="bilstm", run_id=lambda frame: "x" + frame["run_id"])
    other["run_name"] = other["arch"] + "-" + other["preset"] + "-s" + other["seed"].astype(str)
    both = pd.concat([runs, other], ignore_index=True)
    tables = RunTables("heads-reference", both, tables.curves, tables.char_errors, tables.misreads)
    built = report.build(tables, "bigru")
    assert built.checks.loc["bigru", "heads-reference-128k"] == pytest.approx(0.93)  # seed 0's compared run, not seed 1's
    assert built.checks.loc["bigru", "heads-reference-128k-lr-double"] == pytest.approx(0.95)
    assert set(built.tables.runs.loc[built.tables.runs["arch"] == "bigru", "seed"]) == {0, 1}  # both stay compared


def test_the_headline_goes_beside_the_report_and_into_a_readme_between_its_markers(tmp_path):
    """headline.md: one compact table (what the statistics support per head) and the figure; a README with
    the experiment's markers gets the same block between them, rewritten each time, the rest untouched;
    a README without them, or a report written anywhere but reports/NAME, leaves the README alone."""
    from zoo.reporting import headline

    tables = _paired_tables()
    built = report.build(RunTables("paired", tables.runs.drop(columns="variant"), tables.curves, tables.char_errors,
                                   tables.misreads), "b")
    report.write(built, tmp_path / "out")
    block = (tmp_path / "out" / headline.HEADLINE_FILE).read_text()
    assert "| head | seeds | params |" in block and "| b | 2 |" in block and "the baseline" in block
    assert "too few seeds for a test" not in block and "no claim (+5.00 points, Holm's p = " in block  # 2 seeds: tested
    assert "(accuracy.png)" in block and "[README.md](README.md)" in block  # paths from inside the folder
    project = tmp_path / "project"
    readme = project / "README.md"
    project.mkdir()
    readme.write_text("# Title\n\nBefore.\n\n<!-- headline:paired -->\nold table\n<!-- /headline:paired -->\n\nAfter.\n")
    assert headline.readme_for(project / "reports" / "paired", "paired", project) == readme
    assert headline.readme_for(tmp_path / "out", "paired", project) is None
    new_block = headline.headline_markdown("| a table |", "reports/paired/", "accuracy.png", "caption [README.md](README.md)")
    assert headline.update_block(readme, "paired", new_block)
    text = readme.read_text()
    assert text.startswith("# Title\n\nBefore.\n\n<!-- headline:paired -->\ncaption [README.md](reports/paired/README.md)")
    assert "old table" not in text and "(reports/paired/accuracy.png)" in text and text.endswith("<!-- /headline:paired -->\n\nAfter.\n")
    assert not headline.update_block(readme, "paired", new_block)  # the same block: nothing written
    assert not headline.update_block(readme, "other", new_block) and readme.read_text() == text


def test_one_block_shows_a_comparison_at_two_budgets_whichever_of_them_is_reported(tmp_path):
    """Issue 30's table: the heads at one budget with their accuracy at another beside it. The README's
    block names both experiments (the main one first); reporting either rewrites it, reading the other
    from its committed folder, and both give the same block. Here the committed 2-digit `heads`
    (19,200 samples a run) is the main one and `heads-reference` (128,000) the other."""
    from zoo.reporting import headline

    reports = tmp_path / "project" / "reports"
    for name in ("heads", "heads-reference"):
        shutil.copytree(REPO / "reports" / name, reports / name, ignore=shutil.ignore_patterns("models"))
    readme = tmp_path / "project" / "README.md"
    readme.write_text("# T\n\n<!-- headline:heads heads-reference -->\nold\n<!-- /headline:heads -->\n\nAfter.\n")
    other = report.build(RunTables.from_csv(reports / "heads-reference"), "bigru", report.load_speed(reports / "heads-reference"))
    assert report.write_headline(other, reports / "heads-reference", tmp_path / "project") == readme
    text = readme.read_text()
    assert text.startswith("# T\n\n<!-- headline:heads heads-reference -->\n*Written by") and "old" not in text
    assert text.endswith("<!-- /headline:heads -->\n\nAfter.\n")
    assert "| test full-sequence acc (%) at 19k [95% CI] | at 128k (seeds) |" in text
    assert "Full reports: [heads](reports/heads/README.md), [heads-reference](reports/heads-reference/README.md)." in text
    assert "(reports/heads/accuracy.png)" in text  # the main experiment's figure
    main = report.build(RunTables.from_csv(reports / "heads"), "bigru")
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in text.splitlines() if line.startswith("| ")}
    shared = set(main.summary["variant"]) & set(other.summary["variant"])
    assert {"bigru", "gru", "conv_only"} <= shared and set(rows) == set(main.summary["variant"]) | {"head"}
    for _, row in other.summary[other.summary["variant"].isin(shared)].iterrows():  # its 128k column and verdict
        assert f" | {report._bounds(row, 'test_seq_acc')} ({row['seeds']}) | " in rows[row["variant"]]
        if row["variant"] != "bigru":
            verdict = headline.verdict(row, "bigru", report.ALPHA, report.CLAIM_SEEDS)
            assert f"; at 128k: {verdict} |" in rows[row["variant"]]
    for variant in set(main.summary["variant"]) - shared:  # a head the other budget did not run
        assert " | — | " in rows[variant]
    # samples to 99%: this budget's where it reached them, else the first other budget's that did, named
    faster = other.summary.assign(reached_99=np.where(other.summary["variant"] == "gru", 2, 0), samples_to_99=96_000.0)
    table = headline.headline_table(main.summary, "bigru", report.ALPHA, report._bounds, report.CLAIM_SEEDS,
                                    [headline.Part("x", faster, other.tables.runs)], "19k").set_index("head")
    assert table.loc["gru", "samples to 99% (validation)"] == f"96.0k (2/{faster.set_index('variant').loc['gru', 'seeds']} seeds) (at 128k)"
    assert table.loc["bigru", "samples to 99% (validation)"] == "not reached"
    # two experiments at one budget: a column each, told apart by name
    twice = headline.headline_table(main.summary, "bigru", report.ALPHA, report._bounds, report.CLAIM_SEEDS,
                                    [headline.Part("x", faster, other.tables.runs),
                                     headline.Part("y", other.summary, other.tables.runs)], "19k")
    assert {"at 128k (x) (seeds)", "at 128k (y) (seeds)"} <= set(twice.columns)
    # beside the other budget's report: its own rows only
    assert "at 19k" not in (reports / "heads-reference" / headline.HEADLINE_FILE).read_text()
    # the main one reported: the same block, so the README is not rewritten; beside it, the block itself
    assert report.write_headline(main, reports / "heads", tmp_path / "project") is None and readme.read_text() == text
    beside = (reports / "heads" / headline.HEADLINE_FILE).read_text()
    assert "at 128k (seeds)" in beside and "[heads-reference](../heads-reference/README.md)" in beside
    # a README whose block does not name the experiment: left alone
    readme.write_text("<!-- headline:heads -->\nold\n<!-- /headline:heads -->\n")
    assert report.write_headline(other, reports / "heads-reference", tmp_path / "project") is None
    assert readme.read_text() == "<!-- headline:heads -->\nold\n<!-- /headline:heads -->\n"


def test_runs_on_two_setups_show_the_baselines_seeds_on_each():
    """Issue 30: within a tier, runs share a backend and precision, or the report shows that the
    baseline's seeds agree across them. Here reports/heads' seed 0 is relabelled as trained under JAX."""
    runs = RunTables.from_csv(REPO / "reports" / "heads").runs
    runs = runs.assign(keras_backend=np.where(runs["seed"] == 0, "jax", "tensorflow"), precision="bf16", machine="box")
    line = report.setup_finding(runs, "bigru")
    bigru = runs[runs["variant"] == "bigru"]
    assert line.startswith("The runs trained on 2 backend/precision setups; bigru's seeds on each: ")
    assert f"jax · bf16: {100 * bigru.loc[bigru['seed'] == 0, 'test_seq_acc'].mean():.2f}% (1 seed);" in line
    assert f"tensorflow · bf16: {100 * bigru.loc[bigru['seed'] != 0, 'test_seq_acc'].mean():.2f}% (2 seeds)" in line
    assert report.setup_finding(runs.assign(keras_backend="tensorflow"), "bigru") is None
    assert report.trained_on(runs) == f"jax · bf16 · box: {(runs['seed'] == 0).sum()}; tensorflow · bf16 · box: {(runs['seed'] != 0).sum()}"
    assert report.trained_on(runs.assign(machine=np.nan)) == f"not recorded (rows committed before the run tables kept it): {len(runs)}"


def test_with_one_seed_a_head_the_summary_says_no_test_was_made_and_the_control_gives_its_gap():
    """reports/heads cut to seed 0: no comparison has two seeds a side, so the summary says none was
    corrected for, and the conv_only control states its gap without a verdict either way."""
    full = RunTables.from_csv(REPO / "reports" / "heads")
    kept = full.runs[full.runs["seed"] == 0]
    one_seed = RunTables(full.experiment, kept.drop(columns="variant"), full.curves[full.curves["run_id"].isin(kept["run_id"])].drop(columns="variant"),
                         full.char_errors[full.char_errors["run_id"].isin(kept["run_id"])].drop(columns="variant"))
    findings = report.build(one_seed, "bigru").findings
    assert "none has the two seeds on each side a test needs yet" in findings[0] and "0 comparison" not in findings[0]
    (control,) = [line for line in findings if line.startswith("Control conv_only")]
    gap = 100 * (kept.set_index("arch").loc["conv_only", "test_seq_acc"] - kept.set_index("arch").loc["bigru", "test_seq_acc"])
    assert f"{gap:+.2f} points against bigru, too few seeds to test whether recurrence matters" in control
    three_seeds = " ".join(report.build(full, "bigru").findings)
    assert f"corrected for the {full.runs['arch'].nunique() - 1} comparisons made" in three_seeds
    assert "single seed" not in three_seeds
    # one head cut to a single seed among heads of three: named, and no claim that every head has one
    kept = full.runs[(full.runs["arch"] != "gru") | (full.runs["seed"] == 0)]
    mixed = report.build(RunTables(full.experiment, kept.drop(columns="variant"), full.curves.drop(columns="variant"),
                                   full.char_errors.drop(columns="variant")), "bigru").findings
    assert "gru has a single seed so far: no test is made for it" in " ".join(mixed)
    assert not [line for line in mixed if "single seed per" in line]


def test_a_difference_is_claimed_only_with_five_seeds_a_side():
    """The protocol (DESIGN.md): >= 5 seeds where a claim is made. With 3 seeds against 2 nearly equal ones
    Welch's p falls below 0.05 for two tenths of a point; the report shows that p but calls nothing worse
    until both sides have 5 seeds, and then it does."""
    from zoo.reporting import headline

    def tables(base: list[float], other: list[float]) -> RunTables:
        accuracies = {"bigru": base, "gru": other}
        rows = [(arch, seed, accuracy) for arch, values in accuracies.items() for seed, accuracy in enumerate(values)]
        runs = pd.DataFrame({"experiment": "claims", "run_id": [f"{a}{s}" for a, s, _ in rows], "arch": [a for a, _, _ in rows],
                             "seed": [s for _, s, _ in rows], "preset": "smoke", "config_hash": [f"h{i}" for i in range(len(rows))],
                             "git_commit": "abc", "samples": 32, "test_size": 10_000, "test_seq_acc": [v for _, _, v in rows],
                             "test_char_acc": 0.99, "test_ned": 0.01, "params": 1, "model_mb": 1, "inference_images_per_s": 1,
                             "latency_ms_per_image": 1, "train_time_s": 1})
        curves = pd.DataFrame({"run_id": runs["run_id"], "arch": runs["arch"], "seed": runs["seed"], "epoch": 1,
                               "samples_seen": 32, "val_seq_acc": 0.5})
        errors = pd.DataFrame({"run_id": runs["run_id"], "arch": runs["arch"], "seed": runs["seed"], "char": "0",
                               "occurrences": 4, "errors": 1})
        return RunTables("claims", runs, curves, errors)

    early = report.build(tables([0.9841, 0.9846], [0.9830, 0.9820, 0.9822]), "bigru")
    row = early.summary.set_index("variant").loc["gru"]
    assert row["p_holm"] < report.ALPHA and not row["claimable"]  # the test's p is small ...
    text = " ".join(early.findings)
    assert "Significantly worse" not in text and "not yet a claim: gru (-0.20 points" in text  # ... and no claim is made
    assert "3 seeds against 2" in text
    block = report.markdown_table(headline.headline_table(early.summary, "bigru", report.ALPHA, report._bounds,
                                                                           report.CLAIM_SEEDS))
    assert "**worse**" not in block and "not yet a claim (-0.20 points" in block
    assert "0.0" in report.display_table(early.summary).set_index("architecture").loc["gru", "p (Holm)"]
    assert "*" not in report.display_table(early.summary).set_index("architecture").loc["gru", "p (Holm)"]

    five = report.build(tables([0.9841, 0.9846, 0.9850, 0.9838, 0.9844], [0.9830, 0.9820, 0.9822, 0.9825, 0.9818]), "bigru")
    assert five.summary.set_index("variant").loc["gru", "claimable"]
    assert "Significantly worse than the baseline: gru" in " ".join(five.findings)
    assert "**worse**" in report.markdown_table(headline.headline_table(five.summary, "bigru", report.ALPHA, report._bounds,
                                                                        report.CLAIM_SEEDS))


def test_learning_curves_mark_only_the_thresholds_their_error_axis_reaches():
    """A threshold no run came near (99% for runs at 50%) would put its line and label below the error
    axis, outside the figure's layout: only those within the axis are drawn."""
    from zoo.reporting import figures

    curves = pd.DataFrame({"variant": ["a", "a"], "seed": [0, 0], "samples_seen": [100, 200], "val_seq_acc": [0.3, 0.5]})
    figure = figures.learning_curves(curves, ["a"], (0.6, 0.95, 0.99))
    error_axis = figure.axes[1]
    assert [text.get_text() for text in error_axis.texts] == ["60%"]  # error 40% within 25-100%; 5% and 1% below it
    assert error_axis.get_ylim() == (25.0, 100.0)
