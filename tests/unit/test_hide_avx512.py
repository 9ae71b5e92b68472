"""bench/avx2/run: a program under it sees an AVX2 CPU (no AVX-512, VNNI, AMX), in its CPUID as in
/proc/cpuinfo, and still dies of a real segmentation fault."""

import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from followup.embed.cpu import cpu_flags

RUN = Path(__file__).resolve().parents[2] / "bench" / "avx2" / "run"
PROBE = """
from numpy._core._multiarray_umath import __cpu_features__ as numpy_sees
from followup.embed.cpu import cpu_flags, int8_dot_products
flags = cpu_flags()
print(numpy_sees["AVX2"], numpy_sees["AVX512F"], "avx2" in flags, any(f.startswith("avx512") for f in flags),
      int8_dot_products())
"""

pytestmark = pytest.mark.skipif(
    platform.machine() != "x86_64" or shutil.which("gcc") is None or "avx512f" not in cpu_flags(),
    reason="needs an x86-64 CPU with AVX-512 to hide, and gcc",
)


def under_avx2(code: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(RUN), sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    if result.returncode == 3 and "no CPUID faulting" in result.stderr:
        pytest.skip("this CPU or kernel has no CPUID faulting")
    return result


def test_avx512_is_hidden_from_cpuid_and_proc_cpuinfo() -> None:
    result = under_avx2(PROBE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "True", "False", "False"]


def test_a_real_segmentation_fault_still_kills_the_program() -> None:
    result = under_avx2("import ctypes; ctypes.string_at(0)")
    assert result.returncode == -11, (result.returncode, result.stderr)
