"""CTC decoding for readers, in numpy alone (the light reading install has no Keras).

    texts, log_probs = read(logits, charset, min_length=4, max_length=4)              # greedy
    texts, log_probs = read(logits, charset, 4, 4, beam_width=16)                      # beam search

Class 0 is the blank, `charset[i]` is class i+1 (zoo.data.labels). Greedy decoding is the training
metrics' (`keras.ops.ctc_decode(strategy="greedy")`: the best path, repeats merged, blanks dropped)
with the best path's log probability; beam search is the prefix beam search of Hannun et al. (2014),
as `keras.ops.ctc_decode(strategy="beam_search")` runs it, with each labelling's log probability
summed over the paths the beam kept (tests/test_decoding.py checks both against Keras).

A decode of a length the task never has (a doubled character merged into one, a stray extra one) is
read again by beam search and the most probable labelling of an allowed length among its top paths
taken, with that labelling's log probability; when none has an allowed length the first decode stays
(cut to `max_length`, the reference's rule) with probability 0 (log -inf): no reading the task allows
was found (a blank image reads "" at 0, not at the 0.99 of the blank path), so a confidence
threshold rejects it. `any_length=True` keeps the plain decode, cut to `max_length`.
"""

from __future__ import annotations

import numpy as np

from zoo.data.labels import BLANK, labels_to_texts  # noqa: F401 (labels_to_texts: the inverse for callers)

FALLBACK_BEAM_WIDTH, FALLBACK_PATHS = 16, 8  # the beam that re-reads a decode of a length the task never has
Labelling = tuple[int, ...]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """batch x steps x classes+1 logits -> log probabilities of the same shape (float64)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def greedy(log_probs: np.ndarray) -> tuple[list[Labelling], np.ndarray]:
    """Best path per row: (labelling, the path's log probability) for batch x steps x classes+1."""
    best = log_probs.argmax(axis=-1)  # batch x steps
    path_log_probs = log_probs.max(axis=-1).sum(axis=-1)  # batch
    labellings = []
    for path in best:
        kept = path[np.r_[True, path[1:] != path[:-1]]]  # repeats merged
        labellings.append(tuple(int(c) for c in kept if c != BLANK))
    return labellings, path_log_probs


def beam_search(log_probs: np.ndarray, beam_width: int = 16, top_paths: int = 1) -> list[list[tuple[Labelling, float]]]:
    """Per row (steps x classes+1 log probabilities), the `top_paths` best labellings and their log
    probabilities, best first (prefix beam search keeping `beam_width` prefixes a step)."""
    if beam_width < 1 or top_paths < 1:
        raise ValueError(f"beam_width and top_paths must be >= 1, got {beam_width} and {top_paths}")
    return [_beam_search_row(row, beam_width, top_paths) for row in log_probs]


def _beam_search_row(log_probs: np.ndarray, beam_width: int, top_paths: int) -> list[tuple[Labelling, float]]:
    # each prefix: its log probability ending in a blank and ending in its last character
    prefixes: list[Labelling] = [()]
    ends_blank, ends_char = np.array([0.0]), np.array([-np.inf])
    classes = log_probs.shape[-1]
    for step in log_probs:  # classes+1
        total = np.logaddexp(ends_blank, ends_char)  # beams
        last = np.array([p[-1] if p else -1 for p in prefixes])  # beams
        # a character added to each prefix: after its repeat only through a blank (b x classes+1)
        extended = np.where(np.arange(classes)[None, :] == last[:, None], ends_blank[:, None], total[:, None]) + step[None, :]
        extended[:, BLANK] = -np.inf
        stay_blank = total + step[BLANK]  # the prefix, a blank read now
        stay_char = np.where(last >= 0, ends_char + step[np.maximum(last, 0)], -np.inf)  # its last character again
        index = {prefix: i for i, prefix in enumerate(prefixes)}
        for i, prefix in enumerate(prefixes):  # an extension that is already a prefix merges into it
            parent = index.get(prefix[:-1]) if prefix else None
            if parent is not None:
                stay_char[i] = np.logaddexp(stay_char[i], extended[parent, prefix[-1]])
                extended[parent, prefix[-1]] = -np.inf
        scores = np.concatenate([np.logaddexp(stay_blank, stay_char), extended.ravel()])  # beams + beams x classes+1
        keep = np.argsort(-scores, kind="stable")[:beam_width]
        keep = keep[np.isfinite(scores[keep])]
        new_prefixes, new_blank, new_char = [], [], []
        for k in keep:
            if k < len(prefixes):
                new_prefixes.append(prefixes[k])
                new_blank.append(stay_blank[k])
                new_char.append(stay_char[k])
            else:
                parent, char = divmod(int(k) - len(prefixes), classes)
                new_prefixes.append(prefixes[parent] + (char,))
                new_blank.append(-np.inf)
                new_char.append(extended[parent, char])
        prefixes, ends_blank, ends_char = new_prefixes, np.array(new_blank), np.array(new_char)
    totals = np.logaddexp(ends_blank, ends_char)
    order = np.argsort(-totals, kind="stable")[:top_paths]
    return [(prefixes[i], float(totals[i])) for i in order]


def labelling_log_probs(log_probs: np.ndarray, labellings: list[Labelling]) -> np.ndarray:
    """log P(labelling | image) per row: the CTC forward algorithm, summing every alignment of the
    labelling (batch x steps x classes+1 log probabilities; an empty labelling is the all-blank path)."""
    batch, steps, _ = log_probs.shape
    longest = max((len(labelling) for labelling in labellings), default=0)
    states = 2 * longest + 1  # blank, c1, blank, c2, ..., blank
    extended = np.full((batch, states), BLANK, dtype=np.int64)  # batch x states: the class each state emits
    for row, labelling in enumerate(labellings):
        extended[row, 1:2 * len(labelling):2] = labelling
    ends = np.array([2 * len(labelling) for labelling in labellings])  # batch: each row's last blank state
    # a state may skip the blank before it when it is a character unlike the one two states back
    skip = np.zeros((batch, states), dtype=bool)
    skip[:, 2:] = (extended[:, 2:] != BLANK) & (extended[:, 2:] != extended[:, :-2])
    emitted = np.take_along_axis(log_probs, np.broadcast_to(extended[:, None, :], (batch, steps, states)), axis=2)
    alpha = np.full((batch, states), -np.inf)  # batch x states
    alpha[:, 0] = emitted[:, 0, 0]
    if states > 1:
        alpha[:, 1] = np.where(ends > 0, emitted[:, 0, 1], -np.inf)  # or began with the first character
    for step in range(1, steps):
        previous = np.concatenate([np.full((batch, 1), -np.inf), alpha[:, :-1]], axis=1)
        before_previous = np.concatenate([np.full((batch, 2), -np.inf), alpha[:, :-2]], axis=1)
        moved = np.logaddexp(alpha, previous)
        moved = np.where(skip, np.logaddexp(moved, before_previous), moved)
        alpha = moved + emitted[:, step]
    last = np.take_along_axis(alpha, ends[:, None], axis=1)[:, 0]  # ended on the final blank
    last_char = np.take_along_axis(alpha, np.maximum(ends - 1, 0)[:, None], axis=1)[:, 0]  # or on the last character
    return np.where(ends > 0, np.logaddexp(last, last_char), last)


def character_confidences(logits: np.ndarray, labellings: list[Labelling], temperature: float = 1.0) -> list[list[float]]:
    """Per character of each labelling: the probability that it is this character given the others,
    P(text) / sum over every class c of P(text with that character replaced by c)."""
    log_probs = log_softmax(np.asarray(logits, dtype=np.float64) / temperature)  # batch x steps x classes+1
    classes = np.arange(1, log_probs.shape[-1])  # every character class (not the blank)
    rows, variants = [], []
    for row, labelling in enumerate(labellings):
        for position in range(len(labelling)):
            rows += [row] * len(classes)
            variants += [labelling[:position] + (int(c),) + labelling[position + 1:] for c in classes]
    if not variants:
        return [[] for _ in labellings]
    scores = labelling_log_probs(log_probs[rows], variants).reshape(-1, len(classes))  # characters x classes
    shares = np.exp(scores - np.logaddexp.reduce(scores, axis=1, keepdims=True))
    result, index = [], 0
    for labelling in labellings:
        result.append([float(shares[index + i, labelling[i] - 1]) for i in range(len(labelling))])
        index += len(labelling)
    return result


def decode(logits: np.ndarray, min_length: int, max_length: int, beam_width: int | None = None,
           any_length: bool = False, temperature: float = 1.0) -> tuple[list[Labelling], np.ndarray]:
    """batch x steps x classes+1 logits -> (labelling per row, cut to `max_length`; log probability per row).

    The labelling is found on the logits as they are; its log probability is then that of the whole
    labelling (every alignment, `labelling_log_probs`) under softmax(logits / `temperature`), the
    model's calibration (zoo.inference.calibration): a reading's confidence is the chance it is right."""
    log_probs = log_softmax(logits)
    if beam_width:
        found = beam_search(log_probs, beam_width)
        labellings, scores = [best[0][0] for best in found], np.array([best[0][1] for best in found])
    else:
        labellings, scores = greedy(log_probs)
    if not any_length:
        outside = [i for i, labelling in enumerate(labellings) if not min_length <= len(labelling) <= max_length]
        if outside:
            width = max(beam_width or 0, FALLBACK_BEAM_WIDTH)
            again = beam_search(log_probs[outside], width, min(FALLBACK_PATHS, width))
            for row, paths in zip(outside, again):
                allowed = [(labelling, score) for labelling, score in paths if min_length <= len(labelling) <= max_length]
                if allowed:
                    labellings[row], scores[row] = allowed[0]
                else:
                    scores[row] = -np.inf  # no reading the task allows: kept as decoded, at probability 0
    labellings = [labelling[:max_length] for labelling in labellings]  # the reference's rule: extra characters are cut
    calibrated = log_probs if temperature == 1.0 else log_softmax(np.asarray(logits, dtype=np.float64) / temperature)
    exact = labelling_log_probs(calibrated, labellings)  # batch x steps x classes+1 -> batch
    return labellings, np.where(np.isneginf(scores), -np.inf, exact)


def read(logits: np.ndarray, charset: str, min_length: int, max_length: int, beam_width: int | None = None,
         any_length: bool = False, temperature: float = 1.0) -> tuple[list[str], np.ndarray]:
    """`decode` as texts of `charset` and log probabilities."""
    labellings, scores = decode(logits, min_length, max_length, beam_width, any_length, temperature)
    return ["".join(charset[c - 1] for c in labelling) for labelling in labellings], scores
