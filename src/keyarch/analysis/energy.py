"""Energy counters where the machine exposes one (Canziani et al.'s Figs. 4 and 8).

- On an Intel (or recent AMD) CPU under Linux, RAPL: ``/sys/class/powercap/intel-rapl:N``,
  one ``energy_uj`` counter per package, in microjoules, wrapping at
  ``max_energy_range_uj``. It counts the whole package, so a step's energy is read while
  nothing else runs (as ``keyarch bench`` times).
- On an NVIDIA GPU, NVML's total energy since the driver loaded, in millijoules
  (``nvmlDeviceGetTotalEnergyConsumption``, Volta and later), through ``pynvml`` where it is
  installed.

``EnergyMeter.for_device`` returns None where neither is readable (a container, a
virtual machine, a GPU without the counter); ``unavailable_reason`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

POWERCAP = Path("/sys/class/powercap")


@dataclass
class EnergyMeter:
    """Reads joules from a counter; ``difference`` undoes a wrap between two readings."""

    kind: str  # "rapl" or "nvml"
    sources: list  # RAPL package folders, or [NVML handle]
    wrap: list[float]  # joules at which each source's counter wraps (inf: never)

    @classmethod
    def for_device(cls, device: torch.device) -> EnergyMeter | None:
        return _nvml(device) if device.type == "cuda" else _rapl()

    def _readings(self) -> list[float] | None:
        try:
            if self.kind == "rapl":
                return [int((p / "energy_uj").read_text()) / 1e6 for p in self.sources]
            import pynvml

            return [pynvml.nvmlDeviceGetTotalEnergyConsumption(self.sources[0]) / 1e3]
        except Exception:  # noqa: BLE001 - a counter that stops answering is no counter
            return None

    def read(self) -> list[float] | None:
        return self._readings()

    def difference(self, before: list[float], after: list[float]) -> float:
        total = 0.0
        for a, b, wrap in zip(before, after, self.wrap, strict=True):
            total += b - a if b >= a else b + wrap - a
        return total


def _rapl() -> EnergyMeter | None:
    packages = sorted(p for p in POWERCAP.glob("intel-rapl:*") if p.name.count(":") == 1)
    readable = []
    wraps = []
    for package in packages:
        try:
            int((package / "energy_uj").read_text())
            wraps.append(int((package / "max_energy_range_uj").read_text()) / 1e6)
            readable.append(package)
        except (OSError, ValueError):
            continue
    return EnergyMeter("rapl", readable, wraps) if readable else None


def _nvml(device: torch.device) -> EnergyMeter | None:
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(device.index or 0)
        pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except Exception:  # noqa: BLE001 - no pynvml, no driver, or no counter on this GPU
        return None
    return EnergyMeter("nvml", [handle], [float("inf")])


def unavailable_reason(device: str) -> str:
    """One line: why no energy was measured on ``device``."""
    if device.startswith("cuda"):
        return "no NVML energy counter could be read (pynvml missing, or a GPU older than Volta)"
    if not POWERCAP.exists():
        return f"this machine exposes no RAPL energy counter ({POWERCAP} does not exist)"
    return f"no RAPL package counter under {POWERCAP} is readable by this user"
