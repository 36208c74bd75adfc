"""Reading the `captcha` package at other sizes: measured per shipped model and written in its card."""

import shutil
import subprocess
import sys

from zoo.inference import pretrained, sizes


def test_sizes_are_measured_on_fresh_drawings_and_recorded_in_the_card(tmp_path):
    """The shipped bigru, trained at 170x80 only, reads the package's other sizes at their own scale (its
    card: resize "keep"; 99.22% / 99.11% of 10,000 at 160x60 / 200x70); stretched, it did not (56.92% / 93.81%)."""
    folder = shutil.copytree(pretrained.PRETRAINED_DIR / "bigru", tmp_path / "bigru")
    result = sizes.measure(folder, count=32)
    card = pretrained._read_card(folder / pretrained.CARD_FILE)
    assert card["sizes"] == result and result["images"] == 32 and result["seed"] == sizes.SIZES_SEED
    assert list(result["seq_acc"]) == ["160x60", "170x80", "200x70"]
    assert result["resize"] == card["resize"] == "keep" and card["text_height"] == 57
    assert min(result["seq_acc"].values()) >= 0.9  # every size, 170x80 the one it was trained on
    assert "**Sizes**" in (folder / "README.md").read_text() and "--sizes bigru --resize keep" in (folder / "README.md").read_text()
    assert pretrained.load(str(folder)).predict([]) == []  # the card still passes its sha256 checks
    stretched = sizes.measure(folder, count=32, resize="stretch")  # the card's fit changes with it
    card = pretrained._read_card(folder / pretrained.CARD_FILE)
    assert card["resize"] == "stretch" and "text_height" not in card and stretched["seq_acc"]["160x60"] < 0.8
    assert pretrained.load(str(folder)).info.resize == "stretch"


def test_a_drawing_kept_at_its_scale_keeps_its_glyphs_size():
    """fit(..., "keep"): cut across to the text, each side shrunk only where larger than the input, centred."""
    from PIL import Image

    from zoo.data import images
    from zoo.data.stream import CaptchaSource

    charset = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    small = Image.fromarray(CaptchaSource(charset, 4, 4, 160, 60, 7).sample(0)[0])
    kept = images.fit(small, 80, 170, "keep")
    assert kept.size == (170, 80) and images.text_height(kept) == images.text_height(small)  # not scaled
    assert images.text_height(images.fit(small, 80, 170, "stretch")) > images.text_height(small) * 1.2  # stretched: taller
    tall = Image.fromarray(CaptchaSource(charset, 4, 4, 200, 100, 7).sample(0)[0])
    assert images.text_height(images.fit(tall, 80, 170, "keep")) < images.text_height(tall)  # taller than the input: shrunk
    wide = Image.fromarray(CaptchaSource(charset, 8, 8, 400, 80, 7).sample(0)[0])  # text wider than the input
    (left, right), _ = images.text_extent(images.fit(wide, 80, 170, "keep"))
    assert right - left > 120  # squeezed across into the input, not lost
    same = Image.fromarray(CaptchaSource(charset, 4, 4, 170, 80, 7).sample(0)[0])
    assert images.fit(same, 80, 170, "keep") is same  # the input's size: read as it is


def test_a_resize_given_wrong_is_refused_naming_the_accepted():
    import pytest

    with pytest.raises(ValueError, match="unknown resize 'squash'; accepted: stretch, pad, ink-stretch, ink-pad, keep"):
        pretrained.load("bigru", resize="squash")
    result = subprocess.run([sys.executable, "-m", "zoo.pretrained", "--resize", "keep"], capture_output=True, text=True)
    assert result.returncode == 2 and "--resize goes with --sizes NAME" in result.stderr


def test_the_same_texts_are_drawn_at_every_size():
    from zoo.data.stream import CaptchaSource

    small, large = (CaptchaSource("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4, 4, w, h, sizes.SIZES_SEED) for w, h in ((160, 60), (200, 70)))
    assert [small.text(i) for i in range(50)] == [large.text(i) for i in range(50)]
    assert small.sample(0)[0].shape == (60, 160, 3) and large.sample(0)[0].shape == (70, 200, 3)


def test_sizes_of_an_unknown_model_are_refused_naming_the_shipped_ones():
    result = subprocess.run([sys.executable, "-m", "zoo.pretrained", "--sizes", "nope"], capture_output=True, text=True)
    assert result.returncode == 2 and "no shipped model 'nope'; shipped: bigru" in result.stderr
