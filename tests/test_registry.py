
import pytest

from zoo.models import architectures, registry

REQUIRED = {"bigru", "bigru_aligned", "bilstm", "gru", "lstm", "bigru_drop0", "bigru_drop1",
            "bigru_drop3", "bigru_drop4", "conv_only"}


def test_required_variants_are_registered():
    assert REQUIRED <= set(registry.list_models())


def test_pattern_filters_names():
    assert registry.list_models("bigru_drop*") == ["bigru_drop0", "bigru_drop1", "bigru_drop3", "bigru_drop4"]


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(registry.UnknownModelError) as error:
        registry.resolve("bigruu")
    assert "bigruu" in str(error.value) and "bigru_aligned" in str(error.value)


def test_explicit_overrides_win_over_variant_defaults():
    assert registry.resolve("bigru_drop3", drop_steps=1).drop_steps == 1
    assert registry.resolve("bilstm", units=64).settings.cell == "lstm"


def test_unknown_override_field_is_refused():
    with pytest.raises(TypeError, match="accepted"):
        registry.resolve("bigru", rnn_size=64)


def test_invalid_field_value_is_refused():
    with pytest.raises(ValueError, match="cell must be one of"):
        registry.resolve("bigru", cell="rnn")


def _changed_fields(name):
    reference, variant = registry.resolve("bigru").fields(), registry.resolve(name).fields()
    return {key for key in reference.keys() | variant.keys() if reference.get(key) != variant.get(key)}


@pytest.mark.parametrize("name,expected", [
    ("bigru_aligned", {"layout"}), ("bilstm", {"cell"}), ("gru", {"layout"}), ("lstm", {"cell", "layout"}),
    ("bigru_drop0", {"drop_steps"}), ("bigru_drop4", {"drop_steps"}), ("conv_only", {"head", "cell", "layout", "merge_modes"}),
    ("transformer", {"head", "cell", "layout", "merge_modes", "attention_heads", "ff_units"}),
])
def test_each_variant_changes_only_what_it_compares(name, expected):
    assert _changed_fields(name) == expected


def test_reference_is_the_reversed_pair_with_add_then_concat():
    arch = registry.resolve("bigru")
    settings = arch.settings
    assert (settings.cell, settings.layout, settings.merge_modes, arch.drop_steps) == ("gru", "reversed_pair", ("sum", "concat"), 2)
    assert architectures.output_steps(arch, 170, 80) == 15
