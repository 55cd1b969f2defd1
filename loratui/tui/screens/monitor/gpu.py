"""``GpuPanel``: utilisation, memory, temperature and power per GPU through nvidia-ml-py.

pynvml is imported lazily inside the polling thread; on a machine without an NVIDIA GPU (or
driver) the panel says so plainly and the thread ends. The panel only refreshes when a rounded
value changed, so an idle GPU costs no terminal output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual import work
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    util: int
    mem_used: int
    mem_total: int
    temp: int
    power_w: float
    power_limit_w: float


class NoGpu(Exception):
    pass


def nvml_reader():
    """A function returning [GpuInfo]; raises NoGpu (with the reason) when NVML is unusable."""
    try:
        import pynvml
    except ImportError as e:
        raise NoGpu("nvidia-ml-py is not installed") from e
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
    except Exception as e:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
        raise NoGpu(str(e) or type(e).__name__) from e
    if count == 0:
        raise NoGpu("no devices")
    handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]

    def read() -> list[GpuInfo]:
        out = []
        for i, h in enumerate(handles):
            def safe(fn, default=0):
                try:
                    return fn()
                except Exception:  # noqa: BLE001 - some boards lack a sensor
                    return default

            name = safe(lambda: pynvml.nvmlDeviceGetName(h), "GPU")  # noqa: B023
            mem = safe(lambda: pynvml.nvmlDeviceGetMemoryInfo(h), None)  # noqa: B023
            out.append(GpuInfo(i, name.decode() if isinstance(name, bytes) else str(name),
                               int(safe(lambda: pynvml.nvmlDeviceGetUtilizationRates(h).gpu)),  # noqa: B023
                               int(mem.used) if mem else 0, int(mem.total) if mem else 0,
                               int(safe(lambda: pynvml.nvmlDeviceGetTemperature(h, 0))),  # noqa: B023
                               safe(lambda: pynvml.nvmlDeviceGetPowerUsage(h)) / 1000.0,  # noqa: B023
                               safe(lambda: pynvml.nvmlDeviceGetEnforcedPowerLimit(h)) / 1000.0))  # noqa: B023
        return out

    return read


def format_gpus(gpus: list[GpuInfo]) -> str:
    lines = []
    for g in gpus:
        gb = 1 << 30
        lines.append(f"[b]GPU {g.index}[/b] {g.name}")
        lines.append(f"  util {g.util:3d}%  mem {g.mem_used / gb:.1f}/{g.mem_total / gb:.1f} GB"
                     f" ({100 * g.mem_used // max(1, g.mem_total)}%)")
        lines.append(f"  temp {g.temp}°C  power {g.power_w:.0f}/{g.power_limit_w:.0f} W")
    return "\n".join(lines)


class GpuPanel(Static):
    DEFAULT_CSS = "GpuPanel { height: auto; border: round $panel; padding: 0 1; }"

    class Update(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, reader_factory=nvml_reader, interval: float = 2.0, *, id: str | None = None) -> None:
        super().__init__("reading GPUs…", id=id)
        self.border_title = "GPU"
        self.reader_factory = reader_factory
        self.interval = interval
        self.text = ""

    def on_mount(self) -> None:
        self._poll()

    @work(thread=True, exclusive=True, group="gpu")
    def _poll(self) -> None:
        worker = get_current_worker()
        try:
            read = self.reader_factory()
        except NoGpu as e:
            self.post_message(self.Update(f"no NVIDIA GPU ({e})"))
            return
        last = None
        while not worker.is_cancelled:
            try:
                text = format_gpus(read())
            except Exception as e:  # noqa: BLE001 - a GPU fell off the bus: say so, keep trying
                text = f"GPU read failed: {e}"
            if text != last:
                last = text
                self.post_message(self.Update(text))
            end = time.monotonic() + self.interval
            while time.monotonic() < end and not worker.is_cancelled:
                time.sleep(0.1)

    def on_gpu_panel_update(self, msg: "GpuPanel.Update") -> None:
        # not stopped: it bubbles on to the screen, whose compact summary quotes the panel
        if msg.text != self.text:
            self.text = msg.text
            self.update(msg.text)
