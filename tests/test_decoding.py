"""The readers' numpy CTC decoding (zoo.inference.decoding) against exact enumeration and Keras' decoder."""

import itertools

import numpy as np
import pytest
from helpers.ctc_logits import logits_for

from zoo.inference import decoding

CHARSET = "0123456789"


def step_probabilities(rows, classes=11):
    """Logits from per-step {class: probability} dicts (the rest of each step spread over the others)."""
    logits = np.zeros((len(rows), len(rows[0]), classes), dtype="float32")
    for row, steps in enumerate(rows):
        for step, given in enumerate(steps):
            rest = (1.0 - sum(given.values())) / (classes - len(given))
            probabilities = np.full(classes, rest)
            probabilities[list(given)] = list(given.values())
            logits[row, step] = np.log(probabilities)
    return logits


@pytest.mark.parametrize("path,text", [
    ([2, 2, 0, 3, 0, 4, 5], "1234"),  # repeats merged, blanks dropped
    ([2, 0, 2, 3, 3, 0, 0], "112"),  # a blank separates a real repeat
    ([2, 3, 4, 5, 6, 7, 0], "1234"),  # more than 4 characters: cut to the first 4
    ([0, 0, 0, 0, 0, 0, 0], ""),
])
@pytest.mark.parametrize("beam_width", [None, 4])
def test_plain_decode_cases(path, text, beam_width):
    texts, _ = decoding.read(logits_for([path]), CHARSET, 1, 4, beam_width, any_length=True)
    assert texts == [text]


def exact_labellings(log_probs: np.ndarray) -> list[tuple[tuple[int, ...], float]]:
    """Every labelling of one row (steps x classes) and its log probability, by enumerating every path."""
    found: dict[tuple[int, ...], float] = {}
    steps, classes = log_probs.shape
    for path in itertools.product(range(classes), repeat=steps):
        labelling = tuple(c for i, c in enumerate(path) if c != 0 and (i == 0 or path[i - 1] != c))
        found[labelling] = np.logaddexp(found.get(labelling, -np.inf), log_probs[np.arange(steps), path].sum())
    return sorted(found.items(), key=lambda item: -item[1])


def test_a_beam_wide_enough_is_exact():
    rng = np.random.default_rng(0)
    for _ in range(10):
        log_probs = decoding.log_softmax(rng.normal(size=(1, 6, 3)) * 2)  # 1 x 6 steps x blank + 2 characters
        exact = exact_labellings(log_probs[0])[:3]
        found = decoding.beam_search(log_probs, beam_width=1000, top_paths=3)[0]
        assert [labelling for labelling, _ in found] == [labelling for labelling, _ in exact]
        assert [score for _, score in found] == pytest.approx([score for _, score in exact], abs=1e-9)


def test_greedy_and_beam_search_agree_with_keras_on_peaked_logits():
    from keras import ops

    rng = np.random.default_rng(1)
    truth = rng.integers(0, 11, size=(64, 15))  # a path per row, then noise around it, like a trained reader's
    logits = rng.normal(size=(64, 15, 11)) + 9.0 * np.eye(11)[truth]
    log_probs = decoding.log_softmax(logits)
    steps = np.full(64, 15, "int32")
    labellings, scores = decoding.greedy(log_probs)
    decoded, keras_scores = ops.ctc_decode(log_probs.astype("float32"), steps, strategy="greedy", mask_index=0)
    assert labellings == [tuple(int(c) for c in row if c >= 0) for row in np.asarray(decoded[0])]
    assert scores == pytest.approx(-np.asarray(keras_scores)[:, 0], abs=1e-4)
    found = decoding.beam_search(log_probs, beam_width=8)
    decoded, keras_scores = ops.ctc_decode(log_probs.astype("float32"), steps, strategy="beam_search", beam_width=8,
                                           mask_index=0)
    assert [best[0][0] for best in found] == [tuple(int(c) for c in row if c >= 0) for row in np.asarray(decoded[0])]
    assert [best[0][1] for best in found] == pytest.approx(np.asarray(keras_scores)[:, 0], abs=1e-3)


def test_a_decode_of_a_length_the_task_never_has_is_read_again_within_the_lengths():
    merged = [{2: 0.9}, {3: 0.9}, {3: 0.55, 0: 0.44}, {3: 0.9}, {4: 0.9}, {0: 0.9}, {0: 0.9}]  # "1223", greedy "123"
    right = [{2: 0.9}, {0: 0.9}, {3: 0.9}, {4: 0.9}, {0: 0.9}, {5: 0.9}, {0: 0.9}]  # "1234" either way
    lone = [{0: 0.99}, {0: 0.99}, {2: 0.99}, {0: 0.99}, {0: 0.99}, {0: 0.99}, {0: 0.99}]  # "1": no 4-long path near
    logits = step_probabilities([merged, right, lone])
    plain, plain_scores = decoding.read(logits, CHARSET, 4, 4, any_length=True)
    assert plain == ["123", "1234", "1"]  # the reference's plain decode
    texts, log_probs = decoding.read(logits, CHARSET, 4, 4)
    assert texts == ["1223", "1234", "1"]
    assert log_probs[1] == pytest.approx(plain_scores[1])  # a row of an allowed length is untouched
    assert log_probs[2] == -np.inf  # "1" and no 4-long path near: kept as decoded, at probability 0
    # its probability is the labelling's (~0.9^6 x 0.44 through the blank), not the greedy path's (0.9^6 x 0.55)
    assert log_probs[0] == pytest.approx(np.log(0.9 ** 6 * 0.44), abs=0.1)
    texts, _ = decoding.read(logits, CHARSET, 3, 4)  # a 3-character reading is allowed now
    assert texts == ["123", "1234", "1"]


def test_a_bad_beam_is_refused():
    with pytest.raises(ValueError, match="beam_width"):
        decoding.beam_search(np.zeros((1, 3, 4)), beam_width=0)


def test_a_labellings_probability_sums_every_alignment():
    rng = np.random.default_rng(2)
    log_probs = decoding.log_softmax(rng.normal(size=(1, 6, 3)) * 2)  # 1 x 6 steps x blank + 2 characters
    exact = dict(exact_labellings(log_probs[0]))
    labellings = [(), (1,), (2, 1), (1, 1), (1, 2, 1), (2, 2, 2)]
    found = decoding.labelling_log_probs(np.repeat(log_probs, len(labellings), axis=0), labellings)
    assert found == pytest.approx([exact[labelling] for labelling in labellings], abs=1e-9)
    assert decoding.labelling_log_probs(log_probs, [(1, 2, 1, 2, 1, 2, 1)])[0] == -np.inf  # longer than the steps


def test_temperature_changes_confidence_not_readings():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(16, 15, 11)) + 6.0 * np.eye(11)[rng.integers(0, 11, size=(16, 15))]
    plain, plain_scores = decoding.read(logits, CHARSET, 0, 15)
    soft, soft_scores = decoding.read(logits, CHARSET, 0, 15, temperature=2.0)
    assert np.isfinite(plain_scores).all()
    assert soft == plain and np.mean(soft_scores) < np.mean(plain_scores)  # a softer model is less sure of its best


def test_a_characters_confidence_is_its_share_among_the_alternatives():
    steps = [{2: 0.99}, {0: 0.99}, {3: 0.55, 4: 0.44}, {0: 0.99}, {5: 0.99}]  # "1?4": the middle one 2 or 3
    logits = step_probabilities([steps])
    texts, _ = decoding.read(logits, CHARSET, 3, 3)
    assert texts == ["124"]
    (shares,) = decoding.character_confidences(logits, [(2, 3, 5)])
    assert shares[1] == pytest.approx(0.55, abs=0.01) and min(shares[0], shares[2]) > 0.98
    assert decoding.character_confidences(logits, [()]) == [[]]
