"""Where tensors go: one rule for every part of the package (training, extraction, benchmarks)."""
from __future__ import annotations

import torch


def pick_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks cuda, then mps, then cpu; any other string names a device that must exist
    here (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), else a ``ValueError`` says why (a
    ``TypeError`` for what is not a string)."""
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'auto', 'cpu' or 'cuda', got {type(device).__name__} {device!r}")
    if device != "auto":
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device!r}: torch.cuda.is_available() is False here (no GPU, or a "
                             "CPU-only torch); use device='auto' or 'cpu'")
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here")
        if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ValueError(f"device {device!r}: MPS is not available here; use device='auto' or 'cpu'")
        if dev.type not in ("cpu", "cuda", "mps"):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
