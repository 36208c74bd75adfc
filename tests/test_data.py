import hashlib
import subprocess
import sys

import numpy as np
import pytest

from zoo.data.stream import BatchStream, CaptchaSource, cached_split, render

SOURCE = CaptchaSource("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4, 4, 170, 80, seed=7)


def digest(images, labels):
    return hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()


def test_same_seed_and_index_give_the_same_sample():
    first, second = SOURCE.sample(11), SOURCE.sample(11)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1] == second[1] and len(first[1]) == 4 and set(first[1]) <= set(SOURCE.charset)
    assert first[0].shape == (80, 170, 3) and first[0].dtype == np.uint8


def test_other_index_or_seed_gives_another_sample():
    image, _ = SOURCE.sample(11)
    assert not np.array_equal(image, SOURCE.sample(12)[0])
    other_seed = CaptchaSource(SOURCE.charset, 4, 4, 170, 80, seed=8)
    assert not np.array_equal(image, other_seed.sample(11)[0])


def test_samples_are_identical_in_another_process():
    here = digest(*SOURCE.batch(20, 3))
    code = ("from zoo.data.stream import CaptchaSource; import hashlib;"
            "i, l = CaptchaSource('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', 4, 4, 170, 80, seed=7).batch(20, 3);"
            "print(hashlib.sha256(i.tobytes() + l.tobytes()).hexdigest())")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert here == there


def test_worker_processes_draw_the_same_stream_in_order():
    with BatchStream(SOURCE, 4, start_batch=3, stop_batch=6, workers=2, prefetch=2) as stream:
        parallel = list(stream)
    assert len(parallel) == 3
    for offset, (images, labels) in enumerate(parallel):
        assert digest(images, labels) == digest(*SOURCE.batch((3 + offset) * 4, 4))


def test_a_stream_started_later_continues_the_same_batches():
    with BatchStream(SOURCE, 2, start_batch=0, stop_batch=4) as whole, BatchStream(SOURCE, 2, start_batch=2, stop_batch=4) as tail:
        assert [digest(*b) for b in list(whole)[2:]] == [digest(*b) for b in tail]


def test_variable_length_labels_are_padded():
    source = CaptchaSource("ABC", 2, 5, 170, 80, seed=1)
    images, labels = render(source, 40)
    lengths = (labels >= 0).sum(axis=1)
    assert lengths.min() >= 2 and lengths.max() <= 5 and len(set(lengths)) > 1
    assert labels.shape == (40, 5) and ((labels == -1) | ((labels >= 1) & (labels <= 3))).all()


def test_text_matches_the_drawn_label():
    assert [SOURCE.text(i) for i in range(5)] == [SOURCE.sample(i)[1] for i in range(5)]


def test_cached_split_is_written_once_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    first = cached_split(SOURCE, 6)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    second = cached_split(SOURCE, 6)
    assert digest(*first) == digest(*second) == digest(*render(SOURCE, 6))
    assert not list(tmp_path.glob("*.tmp*"))


def test_forced_text_is_drawn():
    image, text = SOURCE.sample(-1, text="0O0O")
    assert text == "0O0O" and image.shape == (80, 170, 3)


def test_oversampled_training_labels_draw_the_chosen_characters_more_often_and_val_test_stay_uniform():
    from zoo.config import make_config
    from zoo.data.stream import source_for

    data = make_config("bigru", "smoke", 0, ["data.charset=ABCDEF", "data.oversample=AB",
                                              "data.oversample_factor=4"]).data
    train, val, test = (source_for(data, split, seed=3) for split in ("train", "val", "test"))
    chars = "".join(train.text(i) for i in range(3000))
    share = (chars.count("A") + chars.count("B")) / len(chars)
    assert 0.62 < share < 0.71  # 8 of 12 weight units: 2/3; uniform would be 1/3
    assert abs(chars.count("A") - chars.count("B")) < 0.1 * chars.count("A")  # the pair is not tilted
    assert [train.sample(i)[1] for i in range(3)] == [train.text(i) for i in range(3)]
    assert val.weights == test.weights == ()  # scores stay those of the uniform problem
    assert "weights" in train.cache_key() and "weights" not in val.cache_key()
    uniform = CaptchaSource(val.charset, val.min_length, val.max_length, val.width, val.height, val.seed)
    assert [val.text(i) for i in range(20)] == [uniform.text(i) for i in range(20)]


def test_oversample_is_refused_for_sources_with_their_own_labels():
    from zoo.config import ConfigError, make_config

    with pytest.raises(ConfigError, match="draws its own labels"):
        make_config("bigru", "smoke", 0, ["data.source=pil:plain", "data.oversample=O0"])


def test_training_captchas_drawn_at_other_sizes_are_fitted_to_the_input_and_keep_their_labels(monkeypatch):
    from zoo.config import make_config
    from zoo.data import stream
    from zoo.data.stream import source_for

    drawn = []

    class RecordingDrawer(stream._SizedDrawer):  # the real drawer, its sizes noted
        def generate_image(self, chars, *args, **kwargs):
            drawn.append((self._width, self._height))
            return super().generate_image(chars, *args, **kwargs)

    monkeypatch.setattr(stream, "_SizedDrawer", RecordingDrawer)
    data = make_config("bigru", "smoke", 0, ["data.draw_sizes=120-260x50-100"]).data
    train, val = source_for(data, "train", seed=3), source_for(data, "val")
    plain = CaptchaSource(train.charset, train.min_length, train.max_length, train.width, train.height, train.seed)
    samples = [train.sample(i) for i in range(40)]
    assert all(image.shape == (data.height, data.width, 3) and image.dtype == np.uint8 for image, _ in samples)
    assert [text for _, text in samples] == [plain.text(i) for i in range(40)]  # the same labels as without sizes
    assert not np.array_equal(samples[0][0], plain.sample(0)[0])
    assert all(120 <= w <= 260 and 50 <= h <= 100 for w, h in drawn) and len(set(drawn)) > 30
    assert max(w / h for w, h in drawn) > 3 and min(w / h for w, h in drawn) < 2  # the aspects vary widely
    np.testing.assert_array_equal(train.sample(5)[0], samples[5][0])  # seeded by index: resumable
    assert val.draw_sizes == () and "draw_sizes" not in val.cache_key() and "draw_sizes" in train.cache_key()


@pytest.mark.parametrize("value, message", [
    ("120-260", "is not a size range; accepted: \"WMIN-WMAX x HMIN-HMAX\""),
    ("260-120x50-100", "each range must run from low to high"),
    ("120-260x5-100", "every side from 16 to 2000 pixels"),
])
def test_bad_draw_sizes_are_refused_saying_what_is_accepted(value, message):
    from zoo.config import ConfigError, make_config

    with pytest.raises(ConfigError, match="data.draw_sizes") as error:
        make_config("bigru", "smoke", 0, [f"data.draw_sizes={value}"])
    assert message in str(error.value)


def test_draw_sizes_are_refused_for_folder_images(tmp_path):
    from zoo.config import ConfigError, make_config

    with pytest.raises(ConfigError, match="data.draw_sizes draws generated captchas"):
        make_config("bigru", "smoke", 0, ["data.source=pil:lines", "data.draw_sizes=160x60"])


def test_draw_sizes_change_the_config_hash_only_when_set():
    from zoo.config import config_hash, make_config

    bf16 = "train.precision=bf16"  # what `auto` hashed as where the hash was taken (it resolves per machine)
    plain = config_hash(make_config("bigru", "smoke", 0, [bf16]))
    assert config_hash(make_config("bigru", "smoke", 0, ["data.draw_sizes=", bf16])) == plain == "240762bd"  # hashed before the key existed
    assert config_hash(make_config("bigru", "smoke", 0, ["data.draw_sizes=160x60", bf16])) != plain
