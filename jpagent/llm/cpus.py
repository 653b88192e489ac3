"""How many threads llama.cpp should decode with: the physical cores this process may use.

llama.cpp's own advice is one thread per physical core (a second hyper-thread on a core only
adds contention). llama-cpp-python's default, half the logical CPUs, assumes two hyper-threads
per core, which leaves half the cores idle where there are none (most cloud vCPUs; this
project's 2-core machines: 1 thread instead of 2, decoding at 16.9 instead of 24.7 tokens/s with
the embedded model, ``make bench-threads``). Prompt processing already uses every logical CPU
(llama-cpp-python's ``n_threads_batch``).

:func:`default_threads` counts the distinct ``(physical id, core id)`` pairs of the CPUs in this
process's affinity mask (``/proc/cpuinfo``), capped by a cgroup v2 CPU quota (``cpu.max``, as
set by ``docker run --cpus``); elsewhere it falls back to llama-cpp-python's rule. A loaded
machine is better served by fewer threads: set ``llm.n_threads`` (``JPAGENT_LLM_N_THREADS``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["default_threads", "physical_cores", "quota_cpus"]

CPUINFO = Path("/proc/cpuinfo")
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def default_threads(cpuinfo: Path = CPUINFO, cpu_max: Path = CPU_MAX) -> int:
    """Decode threads for llama.cpp: physical cores in reach, within the CPU quota; at least 1."""
    allowed = _allowed_cpus()
    cores = physical_cores(_read(cpuinfo), allowed)
    if cores is None:  # no /proc/cpuinfo (macOS, Windows): llama-cpp-python's rule
        cores = max(1, (len(allowed) if allowed else os.cpu_count() or 2) // 2)
    quota = quota_cpus(_read(cpu_max))
    return max(1, min(cores, quota) if quota else cores)


def physical_cores(cpuinfo: str, allowed: set[int] | None = None) -> int | None:
    """Distinct physical cores among the ``allowed`` logical CPUs of a ``/proc/cpuinfo`` text.

    A CPU listed without ``core id`` (common on ARM, where there is no SMT) counts as a core of
    its own; None when the text lists no processor at all.
    """
    cores: set[tuple[str, str]] = set()
    seen = False
    for block in cpuinfo.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        if not fields.get("processor", "").isdigit():
            continue
        cpu = int(fields["processor"])
        if allowed is not None and cpu not in allowed:
            continue
        seen = True
        core = fields.get("core id")
        cores.add((fields.get("physical id", "0"), core) if core is not None else ("cpu", str(cpu)))
    return len(cores) if seen else None


def quota_cpus(cpu_max: str) -> int | None:
    """CPUs a cgroup v2 ``cpu.max`` (``"<quota> <period>"`` or ``"max <period>"``) allows."""
    parts = cpu_max.split()
    if len(parts) != 2 or not parts[0].isdigit() or not parts[1].isdigit() or int(parts[1]) == 0:
        return None
    return max(1, math.ceil(int(parts[0]) / int(parts[1])))


def _allowed_cpus() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
