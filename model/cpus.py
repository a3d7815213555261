"""CPUs this process may use: its affinity mask and its container's CPU quota (cgroup v1 or v2).

A container started with ``--cpus=2`` on a 64-core host sees 64 cores in its affinity mask; the
quota (``cpu.max`` in cgroup v2, ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` in v1) is what it
may actually use, so the Monte Carlo pool sizes itself from the smaller of the two. The parsing is
pure (text in, cores out) and the file reading takes its paths as arguments, so both are tested
with fake files.
"""

from __future__ import annotations

import math
from pathlib import Path

#: Where the cgroup file systems are mounted, and the file naming this process's cgroups.
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")


def quota_from_cpu_max(text: str) -> float | None:
    """Cores allowed by a cgroup v2 ``cpu.max`` text (``"<quota> <period>"``, or ``"max ..."``).

    Returns None where there is no limit or the text cannot be read.

    Examples
    --------
    >>> quota_from_cpu_max("200000 100000\\n"), quota_from_cpu_max("max 100000")
    (2.0, None)
    """
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    return _ratio(parts[0], parts[1])


def quota_from_cfs(quota_text: str, period_text: str) -> float | None:
    """Cores allowed by cgroup v1 ``cpu.cfs_quota_us`` and ``cpu.cfs_period_us`` (-1: no limit).

    Examples
    --------
    >>> quota_from_cfs("150000", "100000"), quota_from_cfs("-1", "100000")
    (1.5, None)
    """
    return _ratio(quota_text.strip(), period_text.strip())


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except (OSError, ValueError):
        return None


def _with_ancestors(root: Path, cgroup_path: str) -> list[Path]:
    """The folder of a cgroup and each parent up to the mount root (a parent's limit binds too).

    Where the mount is the cgroup itself (a container with a cgroup namespace, or a v1 mount of
    the container's own group), the root's files are the ones that count, so it is always read.
    """
    parts = [p for p in cgroup_path.strip().split("/") if p and p not in (".", "..")]
    folders = [root.joinpath(*parts[:i]) for i in range(len(parts), 0, -1)]
    return [*folders, root]


def cgroup_cpu_quota(root: Path | None = None, proc_cgroup: Path | None = None) -> float | None:
    """The tightest CPU quota (cores, may be fractional) over this process's cgroups, or None.

    Reads ``proc_cgroup`` (default :data:`PROC_SELF_CGROUP`; lines ``id:controllers:path``): for the v2 line (``0::path``) the
    ``cpu.max`` of the group and its ancestors under ``root`` (default :data:`CGROUP_ROOT`); for a v1 line whose controllers
    include ``cpu``, ``cpu.cfs_quota_us`` and ``cpu.cfs_period_us`` under ``root/<controllers>``
    (or ``root/cpu``). Files that are missing or unreadable count as no limit.

    Examples
    --------
    >>> import tempfile
    >>> tmp = Path(tempfile.mkdtemp())
    >>> _ = (tmp / "self").write_text("0::/\\n")
    >>> _ = (tmp / "cpu.max").write_text("250000 100000\\n")
    >>> cgroup_cpu_quota(tmp, tmp / "self")
    2.5
    """
    root = CGROUP_ROOT if root is None else root
    text = _read(PROC_SELF_CGROUP if proc_cgroup is None else proc_cgroup)
    if text is None:
        return None
    quotas: list[float] = []
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":  # cgroup v2
            for folder in _with_ancestors(root, path):
                cpu_max = _read(folder / "cpu.max")
                quota = None if cpu_max is None else quota_from_cpu_max(cpu_max)
                if quota is not None:
                    quotas.append(quota)
        elif "cpu" in controllers.split(","):  # cgroup v1
            for mount in dict.fromkeys((root / controllers, root / "cpu")):
                for folder in _with_ancestors(mount, path):
                    q, p = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
                    quota = None if q is None or p is None else quota_from_cfs(q, p)
                    if quota is not None:
                        quotas.append(quota)
    return min(quotas) if quotas else None


def usable_cores(affinity: int, quota: float | None) -> int:
    """Whole cores to plan for: the affinity count, capped by the quota rounded up (at least 1).

    A fractional quota is rounded up (1.5 CPUs run two workers, each throttled a little) as the
    JVM does; rounding down would leave part of the quota idle.

    Examples
    --------
    >>> usable_cores(64, 2.0), usable_cores(64, 1.5), usable_cores(4, None), usable_cores(2, 0.1)
    (2, 2, 4, 1)
    """
    if quota is None:
        return max(1, affinity)
    return max(1, min(affinity, math.ceil(quota)))


__all__ = [
    "cgroup_cpu_quota",
    "quota_from_cfs",
    "quota_from_cpu_max",
    "usable_cores",
]
