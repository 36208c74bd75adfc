import numpy as np
import pytest
from helpers.ctc_logits import logits_for

from zoo.models import ctc

CHARSET = "0123456789"


def test_labels_round_trip_with_padding():
    labels = ctc.encode_labels(["12", "9031"], CHARSET, 4)
    assert labels.tolist() == [[2, 3, -1, -1], [10, 1, 4, 2]]
    assert ctc.labels_to_texts(labels, CHARSET) == ["12", "9031"]


@pytest.mark.parametrize("path,text", [
    ([2, 2, 0, 3, 0, 4, 5], "1234"),  # repeats merged, blanks dropped
    ([2, 0, 2, 3, 3, 0, 0], "112"),  # a blank separates a real repeat
    ([2, 3, 4, 5, 6, 7, 0], "1234"),  # more than 4 characters: cut to the first 4
    ([0, 0, 0, 0, 0, 0, 0], ""),
])
@pytest.mark.parametrize("strategy", ["greedy", "beam_search"])
def test_decode_cases(path, text, strategy):
    assert ctc.decode_texts(logits_for([path]), CHARSET, 4, strategy=strategy) == [text]


def test_metrics_follow_the_reference_rule():
    labels = ctc.encode_labels(["1234", "1234", "1234", "1123"], CHARSET, 4)
    paths = [
        [2, 0, 3, 4, 0, 5, 0],  # "1234": right
        [2, 3, 4, 0, 0, 0, 0],  # "123": fewer than 4 characters is wrong
        [2, 3, 4, 5, 6, 0, 0],  # "12345" cut to "1234": right
        [2, 0, 2, 3, 4, 0, 0],  # "1123": right
    ]
    scores = ctc.score_logits(logits_for(paths), labels, max_length=4)
    assert scores["seq_acc"] == pytest.approx(3 / 4)
    assert scores["char_acc"] == pytest.approx(15 / 16)
    assert scores["ned"] == pytest.approx((1 / 4) / 4)


def test_variable_length_labels_compare_whole_strings():
    labels = ctc.encode_labels(["12", "123", "12"], CHARSET, 4)
    paths = [[2, 0, 3, 0, 0], [2, 3, 0, 0, 0], [2, 3, 4, 0, 0]]  # "12", "12", "123"
    scores = ctc.score_logits(logits_for(paths), labels, max_length=4)
    assert scores["seq_acc"] == pytest.approx(1 / 3)
    assert scores["ned"] == pytest.approx((0 + 1 / 3 + 1 / 3) / 3)


@pytest.mark.parametrize("predicted,label,distance", [
    ("1234", "1234", 0), ("123", "1234", 1), ("1324", "1234", 2), ("", "12", 2), ("9999", "1234", 4), ("12", "21", 2),
])
def test_edit_distance_cases(predicted, label, distance):
    encoded = ctc.encode_labels([predicted, label], CHARSET, 4)
    assert int(np.asarray(ctc.edit_distance(encoded[:1], encoded[1:]))[0]) == distance


def test_loss_is_low_for_the_right_label_and_high_for_a_wrong_one():
    logits = logits_for([[2, 0, 3, 4, 0, 5, 0]])
    right = float(ctc.CTCLoss()(ctc.encode_labels(["1234"], CHARSET, 4), logits))
    wrong = float(ctc.CTCLoss()(ctc.encode_labels(["9876"], CHARSET, 4), logits))
    assert right < 0.01 < 10 < wrong


def test_loss_ignores_padding():
    logits = logits_for([[2, 0, 3, 0, 0, 0, 0]])
    padded = float(ctc.CTCLoss()(ctc.encode_labels(["12"], CHARSET, 4), logits))
    exact = float(ctc.CTCLoss()(ctc.encode_labels(["12"], CHARSET, 2), logits))
    assert padded == pytest.approx(exact, rel=1e-5)


def test_confused_pairs_count_position_wise_misreads_most_frequent_first():
    from zoo.inference.evaluation import confused_pairs

    pairs = confused_pairs(["AB0", "0BC", "ABC", "A"], ["ABO", "OBC", "ABC", "AB"])
    assert pairs.to_dict("records") == [{"true": "O", "read": "0", "count": 2},
                                        {"true": "B", "read": "(missing)", "count": 1}]
    assert list(confused_pairs(["AB"], ["AB"]).columns) == ["true", "read", "count"]
