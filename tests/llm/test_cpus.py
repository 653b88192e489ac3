"""Default llama.cpp decode threads: physical cores in reach, within the cgroup CPU quota."""

from __future__ import annotations

from pathlib import Path

import pytest

from jpagent.llm import cpus
from jpagent.llm.cpus import default_threads, physical_cores, quota_cpus


def _cpuinfo(layout: list[tuple[int, int]]) -> str:
    """A /proc/cpuinfo text: one block per logical CPU with its (physical id, core id)."""
    return "\n\n".join(
        f"processor\t: {i}\nvendor_id\t: AuthenticAMD\nphysical id\t: {pkg}\n"
        f"siblings\t: {len(layout)}\ncore id\t\t: {core}\nflags\t\t: fpu sse2 avx2"
        for i, (pkg, core) in enumerate(layout)
    )


SMT_4x2 = _cpuinfo([(0, 0), (0, 1), (0, 2), (0, 3), (0, 0), (0, 1), (0, 2), (0, 3)])
NO_SMT_2 = _cpuinfo([(0, 0), (0, 1)])  # this project's CI machines: 2 cores, no SMT
TWO_SOCKETS = _cpuinfo([(0, 0), (1, 0), (0, 1), (1, 1)])  # same core ids on each socket
ARM = "processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n\nHardware\t: x"


@pytest.mark.parametrize(
    ("text", "allowed", "expected"),
    [
        (SMT_4x2, None, 4),  # hyper-threads share a core
        (SMT_4x2, {0, 4}, 1),  # pinned to both threads of core 0
        (SMT_4x2, {0, 1}, 2),
        (NO_SMT_2, None, 2),  # llama-cpp-python's rule would give 1
        (TWO_SOCKETS, None, 4),
        (ARM, None, 2),  # no core id: each CPU its own core
        ("", None, None),
        ("Hardware\t: x\n", None, None),
    ],
)
def test_physical_cores(text: str, allowed: set[int] | None, expected: int | None) -> None:
    assert physical_cores(text, allowed) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max 100000\n", None),
        ("200000 100000\n", 2),
        ("150000 100000", 2),  # 1.5 CPUs: 2 threads
        ("50000 100000", 1),
        ("", None),
        ("garbage", None),
        ("100 0", None),
    ],
)
def test_quota_cpus(text: str, expected: int | None) -> None:
    assert quota_cpus(text) == expected


def test_default_threads_reads_cpuinfo_and_quota(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cpus, "_allowed_cpus", lambda: set(range(8)))
    info, quota = tmp_path / "cpuinfo", tmp_path / "cpu.max"
    info.write_text(SMT_4x2, encoding="utf-8")
    assert default_threads(info, tmp_path / "none") == 4
    quota.write_text("200000 100000\n", encoding="utf-8")
    assert default_threads(info, quota) == 2  # docker run --cpus 2
    quota.write_text("max 100000\n", encoding="utf-8")
    assert default_threads(info, quota) == 4
    # no /proc/cpuinfo (macOS, Windows): half the logical CPUs, as llama-cpp-python
    assert default_threads(tmp_path / "none", tmp_path / "none") == 4


def test_default_threads_on_this_machine() -> None:
    n = default_threads()
    assert 1 <= n <= (len(cpus._allowed_cpus() or ()) or 1024)
