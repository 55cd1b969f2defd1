"""The ONNX model in memory: loading, validation, provider choice, batched inference.

onnxruntime is imported inside ``Tagger.load`` only, so the CLI and the TUI start without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .labels import Labels, LabelsError, load_labels
from .models import ModelError, ModelFiles

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@dataclass
class Tagger:
    """A loaded, validated model. ``run`` takes [batch, size, size, 3] BGR float32 arrays."""

    files: ModelFiles
    labels: Labels
    session: object
    input_name: str
    size: int
    batch_size: int
    fixed_batch: bool
    """True for old exports whose batch axis is fixed (usually 1)."""
    provider: str
    """The provider actually running the model, e.g. CUDAExecutionProvider or CPUExecutionProvider."""

    @property
    def on_gpu(self) -> bool:
        return self.provider != CPU

    @property
    def device(self) -> str:
        return {CUDA: "CUDA", CPU: "CPU"}.get(self.provider, self.provider.replace("ExecutionProvider", ""))

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities [n, n_tags] for ``n`` images; pads to the model's batch (constant shapes)."""
        n = len(batch)
        if n < self.batch_size:
            pad = np.zeros((self.batch_size - n, *batch.shape[1:]), dtype=np.float32)
            batch = np.concatenate([batch, pad])
        out = []
        for i in range(0, len(batch), self.batch_size):
            out.append(self.session.run(None, {self.input_name: batch[i:i + self.batch_size]})[0])
        return np.concatenate(out)[:n]

    @classmethod
    def load(cls, files: ModelFiles, batch: int | None = None, require_gpu: bool = False,
             providers: list[str] | None = None, threads: int | None = None) -> "Tagger":
        """Open and validate ``files``. ``batch`` applies to free-batch models (default: 16 on GPU,
        4 on CPU). Raises ModelError with a readable message."""
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelError("onnxruntime is not installed: `pip install onnxruntime-gpu` "
                             "(or `onnxruntime` without an NVIDIA GPU)") from None
        try:
            labels = load_labels(files.labels_path)
        except LabelsError as e:
            raise ModelError(str(e)) from None
        available = ort.get_available_providers()
        wanted = providers or [CUDA, CPU]
        chosen = [p for p in wanted if p in available] or [CPU]
        if require_gpu and CUDA not in chosen:
            raise ModelError(f"--require-gpu: this onnxruntime has no CUDA provider (available: "
                             f"{', '.join(available)}); install onnxruntime-gpu")
        if CUDA in chosen and hasattr(ort, "preload_dlls") and _has_nvidia_wheels():
            try:  # finds CUDA/cuDNN in pip's nvidia-* wheels (as torch installs them)
                ort.preload_dlls()
            except Exception:
                pass
        # the CUDA provider's load failure is logged as an error; we report the fallback ourselves
        ort.set_default_logger_severity(4)
        so = ort.SessionOptions()
        so.log_severity_level = 3  # the CUDA fallback warning is reported by us, once, readably
        if threads:
            so.intra_op_num_threads = threads
        # idle inference threads must not spin on the cores the decode threads need
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(files.model_path, sess_options=so, providers=chosen)
        except Exception as e:  # onnxruntime raises its own exception types for bad files
            raise ModelError(f"{files.model_path}: cannot load the model ({str(e).splitlines()[0]})") from None
        in_use = session.get_providers()
        provider = in_use[0] if in_use else CPU
        if require_gpu and provider == CPU:
            raise ModelError("--require-gpu: onnxruntime fell back to the CPU (the CUDA provider could not start: "
                             "check that the CUDA 12 and cuDNN 9 libraries are installed and visible, e.g. "
                             "`pip install nvidia-cudnn-cu12 nvidia-cublas-cu12`)")
        inp = session.get_inputs()[0]
        shape = list(inp.shape)
        where = os.path.basename(files.model_path)
        if len(shape) != 4 or shape[3] != 3:
            raise ModelError(f"{where}: input shape {shape} is not [batch, height, width, 3] (NHWC); "
                             "not a WD14 tagger")
        h, w = shape[1], shape[2]
        if not isinstance(h, int) or h != w:
            raise ModelError(f"{where}: input size {h}x{w} is not a fixed square; not a WD14 tagger")
        outs = session.get_outputs()
        n_out = outs[0].shape[-1] if outs and outs[0].shape else None
        if isinstance(n_out, int) and n_out != len(labels):
            raise ModelError(f"{where}: the model has {n_out} outputs but selected_tags.csv has {len(labels)} rows; "
                             "the two files are from different models")
        fixed = isinstance(shape[0], int) and shape[0] > 0
        if fixed:
            bs = shape[0]
        else:
            bs = max(1, int(batch or (16 if provider != CPU else 4)))
        return cls(files, labels, session, inp.name, int(h), bs, fixed, provider)


def _has_nvidia_wheels() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("nvidia") is not None
    except (ImportError, ValueError):
        return False
