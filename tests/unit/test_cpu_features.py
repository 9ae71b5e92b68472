"""The question model is picked by the CPU's int8 dot products (embed/cpu.py)."""

from pathlib import Path

from followup.embed.cpu import cpu_flags, int8_dot_products

ZEN3 = "processor\t: 0\nmodel name\t: AMD EPYC 7763\nflags\t\t: fpu sse4_2 avx avx2 fma bmi2\n\nprocessor\t: 1\n"
GENOA = "processor\t: 0\nflags\t\t: avx2 avx512f avx512_vnni avx512_bf16\n"
ALDER_LAKE = "flags\t\t: avx2 avx_vnni\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd asimddp\n"


def cpuinfo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


def test_flags_are_read_from_the_first_processor(tmp_path: Path) -> None:
    assert cpu_flags(cpuinfo(tmp_path, ZEN3)) == {"fpu", "sse4_2", "avx", "avx2", "fma", "bmi2"}


def test_int8_dot_products_need_vnni_or_amx() -> None:
    assert not int8_dot_products({"avx", "avx2", "fma"})  # AVX2 alone: the fp32 model is faster
    assert int8_dot_products({"avx2", "avx512f", "avx512_vnni"})
    assert int8_dot_products({"avx2", "avx_vnni"})
    assert int8_dot_products({"amx_int8"})


def test_cpus_it_cannot_read_get_the_fp32_model(tmp_path: Path) -> None:
    assert cpu_flags(cpuinfo(tmp_path, ARM)) == frozenset()  # no x86 flags: int8 unmeasured there
    assert cpu_flags(tmp_path / "missing") == frozenset()
    for text, fast in ((GENOA, True), (ALDER_LAKE, True), (ZEN3, False), (ARM, False)):
        assert int8_dot_products(cpu_flags(cpuinfo(tmp_path, text))) is fast
