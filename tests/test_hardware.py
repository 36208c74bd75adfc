"""Machine detection and what `train.precision = "auto"` resolves to."""

import pytest

from zoo.machine import hardware
from zoo.config import config_hash, make_config, resolved_precision


def test_describe_names_the_cpu_and_its_features():
    line = hardware.machine_description()
    assert hardware.cpu_model() in line
    for feature in hardware.cpu_features():
        assert feature in line and feature in hardware.SPEED_FEATURES


@pytest.mark.parametrize("bf16_cpu, gpu, expected", [(True, False, "bf16"), (False, True, "bf16"), (False, False, "fp32")])
def test_auto_precision_is_bf16_only_where_there_are_bf16_units(monkeypatch, bf16_cpu, gpu, expected):
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: bf16_cpu)
    monkeypatch.setattr(hardware, "has_gpu", lambda: gpu)
    assert hardware.resolve_precision("auto") == expected
    assert hardware.resolve_precision("fp32") == "fp32" and hardware.resolve_precision("bf16") == "bf16"


def test_auto_is_the_default_and_hashes_as_what_it_resolves_to(monkeypatch):
    config = make_config("bigru", "smoke", 0)
    assert config.train.precision == "auto"
    for bf16_cpu in (True, False):
        monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: bf16_cpu)
        monkeypatch.setattr(hardware, "has_gpu", lambda: False)
        resolved = resolved_precision(config)
        explicit = make_config("bigru", "smoke", 0, [f"train.precision={resolved}"])
        assert config_hash(config) == config_hash(explicit)


def test_unknown_precision_lists_auto():
    from zoo.config import ConfigError

    with pytest.raises(ConfigError, match="auto, fp32, bf16"):
        make_config("bigru", "smoke", 0, ["train.precision=fp16"])


@pytest.mark.parametrize("cap, allowed", [("AVX2", {"avx2", "fma"}), ("avx512_core_vnni", {"avx2", "fma", "avx512f", "avx512_vnni"})])
def test_a_onednn_isa_cap_hides_the_features_above_it_and_bf16_with_them(monkeypatch, cap, allowed):
    monkeypatch.setattr(hardware, "_cpuinfo", lambda: {"model name": "Test CPU", "flags": " ".join(hardware.SPEED_FEATURES)})
    monkeypatch.setattr(hardware, "has_gpu", lambda: False)
    monkeypatch.delenv(hardware.ONEDNN_ISA_ENV, raising=False)
    assert hardware.cpu_features() == list(hardware.SPEED_FEATURES) and hardware.resolve_precision("auto") == "bf16"
    monkeypatch.setenv(hardware.ONEDNN_ISA_ENV, cap)
    assert set(hardware.cpu_features()) == allowed
    assert hardware.resolve_precision("auto") == "fp32"  # what the held box trains in, and hashes as
    assert f"oneDNN held to {cap.upper()}" in hardware.machine_description()
    monkeypatch.setenv(hardware.ONEDNN_ISA_ENV, "ALL")  # oneDNN's own name for no cap
    assert hardware.cpu_features() == list(hardware.SPEED_FEATURES) and "held" not in hardware.machine_description()


def test_an_unknown_onednn_isa_is_an_error_that_lists_the_levels(monkeypatch):
    monkeypatch.setenv(hardware.ONEDNN_ISA_ENV, "AVX9")
    with pytest.raises(ValueError, match="'AVX9' is not a oneDNN ISA level; accepted: SSE41, AVX, AVX2"):
        hardware.cpu_features()


@pytest.mark.parametrize("bf16_cpu, gpu, precision, warned", [(False, False, "bf16", True), (False, False, "fp32", False),
                                                              (True, False, "bf16", False), (False, True, "bf16", False)])
def test_bf16_pinned_on_a_cpu_without_bf16_units_is_warned_about(monkeypatch, bf16_cpu, gpu, precision, warned):
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: bf16_cpu)
    monkeypatch.setattr(hardware, "has_gpu", lambda: gpu)
    warning = hardware.slow_precision_warning(precision)
    assert (warning is not None) == warned
    if warned:
        assert "no native bf16" in warning and "train.precision=auto" in warning and hardware.cpu_model() in warning
