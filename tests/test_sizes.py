"""Reading the `captcha` package at other sizes: measured per shipped model and written in its card."""

import shutil
import subprocess
import sys

from zoo.inference import pretrained, sizes


def test_sizes_are_measured_on_fresh_drawings_and_recorded_in_the_card(tmp_path):
    folder = shutil.copytree(pretrained.PRETRAINED_DIR / "bigru", tmp_path / "bigru")
    result = sizes.measure(folder, count=32)
    card = pretrained._read_card(folder / pretrained.CARD_FILE)
    assert card["sizes"] == result and result["images"] == 32 and result["seed"] == sizes.SIZES_SEED
    assert list(result["seq_acc"]) == ["160x60", "170x80", "200x70"]
    assert result["seq_acc"]["170x80"] >= 0.9  # the size it was trained on: 99.6% on 10,000
    assert all(0 <= value <= 1 for value in result["seq_acc"].values())
    assert "**Sizes**" in (folder / "README.md").read_text() and "170x80 **" in (folder / "README.md").read_text()
    assert pretrained.load(str(folder)).predict([]) == []  # the card still passes its sha256 checks


def test_the_same_texts_are_drawn_at_every_size():
    from zoo.data.stream import CaptchaSource

    small, large = (CaptchaSource("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4, 4, w, h, sizes.SIZES_SEED) for w, h in ((160, 60), (200, 70)))
    assert [small.text(i) for i in range(50)] == [large.text(i) for i in range(50)]
    assert small.sample(0)[0].shape == (60, 160, 3) and large.sample(0)[0].shape == (70, 200, 3)


def test_sizes_of_an_unknown_model_are_refused_naming_the_shipped_ones():
    result = subprocess.run([sys.executable, "-m", "zoo.pretrained", "--sizes", "nope"], capture_output=True, text=True)
    assert result.returncode == 2 and "no shipped model 'nope'; shipped: bigru" in result.stderr
