"""The recurrent head: GRU or LSTM layers, unidirectional or bidirectional (the reference's reversed
pair merged step t with step T-1-t, or keras.layers.Bidirectional, time-aligned)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.models.heads import register_head

CELLS = ("gru", "lstm")
# reversed_pair: forward RNN + go_backwards RNN merged as returned, i.e. step t with step T-1-t
#                (the reference, faithfully); aligned: keras.layers.Bidirectional (time-aligned);
# forward: unidirectional.
LAYOUTS = ("reversed_pair", "aligned", "forward")
MERGES = ("sum", "concat")


@dataclass(frozen=True)
class RecurrentSettings:
    cell: str = "gru"
    layout: str = "reversed_pair"
    merge_modes: tuple[str, ...] = ("sum", "concat")  # one per layer of a bidirectional head
    layers: int = 2
    units: int = 128

    def __post_init__(self) -> None:
        problems = []
        if self.cell not in CELLS:
            problems.append(f"cell must be one of {CELLS}, got {self.cell!r}")
        if self.layout not in LAYOUTS:
            problems.append(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.layout != "forward" and len(self.merge_modes) != self.layers:
            problems.append(f"merge_modes needs one entry per layer ({self.layers}), got {self.merge_modes}")
        if any(mode not in MERGES for mode in self.merge_modes):
            problems.append(f"merge_modes entries must be in {MERGES}, got {self.merge_modes}")
        if min(self.layers, self.units) <= 0:
            problems.append("layers and units must be positive")
        if problems:
            raise ValueError("invalid architecture: " + "; ".join(problems))


@register_head("recurrent", RecurrentSettings, family=lambda s: s.cell, bidirectional=lambda s: s.layout != "forward")
def build(x, settings: RecurrentSettings, dropout: float):
    """batch x steps x features -> batch x steps x units (x2 where the last merge concatenates)."""
    from keras import layers

    merge_layers = {"sum": layers.Add, "concat": layers.Concatenate}
    for index in range(1, settings.layers + 1):
        name = f"{settings.cell}{index}"
        if settings.layout == "forward":
            x = _rnn(settings, name)(x)  # batch x steps x units
        elif settings.layout == "reversed_pair":
            forward = _rnn(settings, name)(x)
            # go_backwards returns its outputs in reversed time order; merging them as they come
            # pairs step t with step T-1-t, exactly as the reference does
            backward = _rnn(settings, f"{name}_b", go_backwards=True)(x)
            x = merge_layers[settings.merge_modes[index - 1]](name=f"merge{index}")([forward, backward])
        else:  # aligned
            x = layers.Bidirectional(_rnn(settings, name), merge_mode=settings.merge_modes[index - 1], name=f"bi{name}")(x)
    return x


def _rnn(settings: RecurrentSettings, name: str, go_backwards: bool = False):
    from keras import layers

    cell = {"gru": layers.GRU, "lstm": layers.LSTM}[settings.cell]
    return cell(settings.units, return_sequences=True, go_backwards=go_backwards, kernel_initializer="he_uniform", name=name)
