"""What the CPU can do: int8 arithmetic is trusted where it is exact."""

import pytest

from kneegrade_ml.runtime import exact_int8_kernels


@pytest.mark.parametrize(
    ("machine", "flags", "exact"),
    [
        ("x86_64", "fpu avx2 avx512f avx512_vnni", True),
        ("x86_64", "fpu avx2 avx_vnni", True),
        ("x86_64", "fpu avx2 fma", False),
        ("AMD64", None, False),
        ("aarch64", None, True),
    ],
)
def test_int8_is_exact_on_x86_only_with_vnni(
    tmp_path, monkeypatch, machine, flags, exact
):
    monkeypatch.setattr("platform.machine", lambda: machine)
    cpuinfo = tmp_path / "cpuinfo"
    if flags is not None:
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    assert exact_int8_kernels(cpuinfo) is exact
