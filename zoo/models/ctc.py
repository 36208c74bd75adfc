"""CTC with Keras ops: the loss (on logits), greedy/beam decoding, and sequence metrics.

Conventions shared by data, models and metrics:
- class 0 is the CTC blank; character `charset[i]` is class i+1;
- labels are int arrays `batch x max_length`, padded with PAD (-1) after the last character.

Full-sequence accuracy follows the reference: the decoded sequence is cut to `max_length`
characters; a sample is right when the cut sequence equals the label (so too few characters is
wrong, and more than the label are cut). For variable-length labels this compares whole strings.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.data.labels import BLANK, PAD, encode_labels, labels_to_texts  # noqa: F401 (the ctc vocabulary)


def _label_lengths(labels):
    return ops.sum(ops.cast(ops.not_equal(labels, PAD), "int32"), axis=-1)


@keras.saving.register_keras_serializable(package="zoo")
class CTCLoss(keras.losses.Loss):
    """CTC on logits (batch x steps x classes+1) against PAD-padded labels (batch x max_length)."""

    def __init__(self, name: str = "ctc", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        labels = ops.cast(y_true, "int32")  # batch x max_length
        label_length = _label_lengths(labels)  # batch
        output_length = ops.ones_like(label_length) * ops.shape(y_pred)[1]  # batch
        targets = ops.where(ops.equal(labels, PAD), BLANK, labels)  # padding is never read
        return ops.ctc_loss(targets, ops.cast(y_pred, "float32"), label_length, output_length, mask_index=BLANK)


def decode(logits, max_length: int, strategy: str = "greedy", beam_width: int = 16):
    """batch x steps x classes+1 logits -> batch x max_length decoded classes, PAD-padded and cut."""
    return decode_with_log_probs(logits, max_length, strategy, beam_width)[0]


def decode_with_log_probs(logits, max_length: int, strategy: str = "greedy", beam_width: int = 16):
    """Decoded classes (batch x max_length, as `decode`) and each decode's log probability (batch).

    Greedy: the log probability of the best path (the product of each step's top probability);
    beam search: the decoder's log probability of the labelling.
    """
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)  # batch x steps x classes+1
    steps = ops.ones((ops.shape(log_probs)[0],), dtype="int32") * ops.shape(log_probs)[1]
    decoded, scores = ops.ctc_decode(log_probs, steps, strategy=strategy, beam_width=beam_width, mask_index=BLANK)
    # greedy scores are the negated sum of each step's top log probability; beam scores are log probabilities
    path_log_prob = -scores[:, 0] if strategy == "greedy" else scores[:, 0]  # batch
    decoded = ops.cast(decoded[0], "int32")  # batch x longest decode (PAD-padded)
    decoded = ops.pad(decoded, [[0, 0], [0, max_length]], constant_values=PAD)  # never narrower than max_length
    return decoded[:, :max_length], path_log_prob  # the reference's rule: extra characters are cut


def decode_texts(logits, charset: str, max_length: int, strategy: str = "greedy", beam_width: int = 16) -> list[str]:
    decoded = ops.convert_to_numpy(decode(logits, max_length, strategy, beam_width))
    return labels_to_texts(decoded, charset)


def edit_distance(predicted, labels):
    """Levenshtein distance per row of two PAD-padded batch x L int tensors (vectorized DP)."""
    width = predicted.shape[1]
    pred_len, label_len = _label_lengths(predicted), _label_lengths(labels)
    previous = [ops.ones_like(pred_len) * j for j in range(width + 1)]  # row i=0: D[0][j] = j
    rows = [ops.stack(previous, axis=1)]
    for i in range(1, width + 1):
        current = [ops.ones_like(pred_len) * i]
        for j in range(1, width + 1):
            substitution = ops.cast(ops.not_equal(predicted[:, i - 1], labels[:, j - 1]), "int32")
            current.append(
                ops.minimum(ops.minimum(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + substitution)
            )
        rows.append(ops.stack(current, axis=1))
        previous = current
    table = ops.stack(rows, axis=1)  # batch x (L+1) x (L+1): D[i][j] for prefixes of length i, j
    at_pred = ops.take_along_axis(table, ops.reshape(pred_len, (-1, 1, 1)), axis=1)[:, 0, :]  # batch x (L+1)
    return ops.take_along_axis(at_pred, ops.reshape(label_len, (-1, 1)), axis=1)[:, 0]  # batch


class _DecodedMetric(keras.metrics.Metric):
    """Greedy-decodes logits and averages a per-batch (total, count) score."""

    def __init__(self, max_length: int, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.max_length = max_length
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = ops.cast(y_true, "int32")[:, : self.max_length]
        total, count = self._score(decode(y_pred, self.max_length), labels)
        self.total.assign_add(ops.cast(total, "float32"))
        self.count.assign_add(ops.cast(count, "float32"))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length}


@keras.saving.register_keras_serializable(package="zoo")
class SequenceAccuracy(_DecodedMetric):
    """Share of samples whose decode (cut to max_length) equals the label."""

    def __init__(self, max_length: int, name: str = "seq_acc", **kwargs):
        super().__init__(max_length, name=name, **kwargs)

    def _score(self, decoded, labels):
        correct = ops.all(ops.equal(decoded, labels), axis=1)
        return ops.sum(ops.cast(correct, "float32")), ops.shape(labels)[0]


@keras.saving.register_keras_serializable(package="zoo")
class CharacterAccuracy(_DecodedMetric):
    """Share of label characters matched at their position by the (cut) decode."""

    def __init__(self, max_length: int, name: str = "char_acc", **kwargs):
        super().__init__(max_length, name=name, **kwargs)

    def _score(self, decoded, labels):
        is_char = ops.not_equal(labels, PAD)
        matches = ops.logical_and(is_char, ops.equal(decoded, labels))
        return ops.sum(ops.cast(matches, "float32")), ops.sum(ops.cast(is_char, "float32"))


@keras.saving.register_keras_serializable(package="zoo")
class NormalizedEditDistance(_DecodedMetric):
    """Mean of edit_distance / max(len(decode), len(label)); 0 is perfect."""

    def __init__(self, max_length: int, name: str = "ned", **kwargs):
        super().__init__(max_length, name=name, **kwargs)

    def _score(self, decoded, labels):
        distance = ops.cast(edit_distance(decoded, labels), "float32")
        longest = ops.maximum(ops.maximum(_label_lengths(decoded), _label_lengths(labels)), 1)
        return ops.sum(distance / ops.cast(longest, "float32")), ops.shape(labels)[0]


def sequence_metrics(max_length: int) -> list[keras.metrics.Metric]:
    return [SequenceAccuracy(max_length), CharacterAccuracy(max_length), NormalizedEditDistance(max_length)]


def score_logits(logits, labels, max_length: int, batch_size: int = 1024) -> dict[str, float]:
    """The same metrics as in fit, over already-predicted logits (no second forward pass)."""
    metrics = sequence_metrics(max_length)
    for start in range(0, len(labels), batch_size):
        for metric in metrics:
            metric.update_state(labels[start : start + batch_size], logits[start : start + batch_size])
    return {metric.name: float(metric.result()) for metric in metrics}
