"""LUMA's image features: ImageNet VGG11-BN with a new head fine-tuned on the labels, its logits.

Follows LUMA's ``data_generation/image_processing.py`` (``extract_deep_image_features``,
``finetune_model``): torchvision's ImageNet VGG11-BN, ``classifier[-1]`` replaced by
Linear(4096, 512)-ReLU-Linear(512, 50), 15 epochs of Adam with batch 32 (5 on the new head at 1e-3,
then 10 on everything at 1e-4); 32x32 images resized to 224 (PIL bilinear), ImageNet mean/std; the
feature is the 50 logits (or, label-free, the 4096-D penultimate activations). torchvision is not
needed: :class:`VGG11BN` loads torchvision's weights.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from mmae.progress import bar as progress_bar

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG11BN(nn.Module):
    """torchvision's ``vgg11_bn`` (cfg "A" with batch norm), same ``state_dict`` keys.

    Convolutions sit at ``features.{0,4,8,11,15,18,22,25}``, batch norms one index later, max-pools
    after convolutions 1, 2, 4, 6 and 8; ``classifier.{0,3,6}`` are the Linear layers. Small
    ``widths``/``hidden`` give the same layout for tests. PyTorch's default initialisation
    (torchvision's own is irrelevant once its weights are loaded).
    """

    def __init__(self, num_classes=1000, widths=(64, 128, 256, 256, 512, 512, 512, 512), hidden=4096,
                 dropout=0.5):
        super().__init__()
        if len(widths) != 8:
            raise ValueError(f"widths: expected 8 convolution widths (VGG cfg 'A'), got {len(widths)}")
        layers, c_in = [], 3
        for i, width in enumerate(widths):
            layers += [nn.Conv2d(c_in, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if i in (0, 1, 3, 5, 7):
                layers.append(nn.MaxPool2d(2, 2))
            c_in = width
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(c_in * 49, hidden), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 3, H, W) images -> (n, hidden) activations feeding ``classifier[6]``."""
        return self.classifier[:6](torch.flatten(self.avgpool(self.features(x)), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier[6](self.penultimate(x))


def replace_head(model: VGG11BN, n_classes: int = 50, width: int = 512, dropout: float = 0.0,
                 seed: int = 0) -> VGG11BN:
    """Replace ``classifier[6]`` by LUMA's head Linear(hidden, width)-ReLU-Linear(width, n_classes).

    LUMA's head has no dropout (``image_processing.py``); ``dropout > 0`` inserts one after the
    ReLU (then the last Linear is ``classifier.6.3``, not LUMA's ``classifier.6.2``). The head is
    initialised by PyTorch's defaults from ``seed``. Returns ``model`` (changed in place).
    """
    if n_classes < 1 or width < 1 or not 0 <= dropout < 1:
        raise ValueError(f"expected n_classes >= 1, width >= 1, 0 <= dropout < 1, "
                         f"got {n_classes}, {width}, {dropout}")
    hidden = model.classifier[3].out_features  # 4096, also when the head was replaced before
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers = [nn.Linear(hidden, width), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
        head = nn.Sequential(*layers, nn.Linear(width, n_classes))
    model.classifier[6] = head.to(model.classifier[0].weight.device)
    return model


def _check_images(images) -> np.ndarray:
    if not isinstance(images, np.ndarray):
        raise TypeError(f"images: expected a uint8 array (n, H, W, 3), got {type(images).__name__}")
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
        raise ValueError(f"images: expected a uint8 array (n, H, W, 3) with n >= 1, got {images.dtype} {images.shape}")
    return images


def image_batch(images: np.ndarray, size: int = 224) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> float32 (n, 3, size, size), as LUMA's ``ImageDataset`` transform.

    torchvision's ``Resize((size, size))`` on a PIL image is PIL's bilinear resize; ``ToTensor``
    divides by 255; ``Normalize`` uses the ImageNet mean/std.
    """
    from PIL import Image

    images = _check_images(images)
    resized = np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.BILINEAR))
                        for im in images])
    x = torch.from_numpy(resized).permute(0, 3, 1, 2).float().div(255)
    return (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def finetune_vgg(model: VGG11BN, images: np.ndarray, labels, *, epochs: int = 15, head_epochs: int = 5,
                 lr_head: float = 1e-3, lr_all: float = 1e-4, batch_size: int = 32, image_size: int = 224,
                 seed: int = 42, device="cpu"):
    """Fine-tune as LUMA's ``finetune_model``: the head alone, then every layer.

    Epochs ``< head_epochs`` train ``classifier[6]`` (Adam, ``lr_head``) with every other parameter
    frozen; later epochs train all (a new Adam, ``lr_all``). As in LUMA the model is in train mode
    throughout, so batch-norm running statistics move in the head phase too. Shuffling (a
    ``torch.Generator``) and dropout are seeded by ``seed``.

    Returns
    -------
    model : VGG11BN
        The same model, fine-tuned, in eval mode.
    history : pandas.DataFrame
        One row per epoch: ``epoch`` (1-based), ``phase`` ("head" or "all"), ``loss`` (mean over
        the epoch; LUMA prints the last batch's), ``accuracy`` (on the training images).
    """
    import pandas as pd

    images, labels = _check_images(images), np.asarray(labels)
    n_classes = [m for m in model.classifier[6].modules() if isinstance(m, nn.Linear)][-1].out_features
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected {len(images)} integers, got {labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels: expected values in [0, {n_classes}), got [{labels.min()}, {labels.max()}]")
    if not 0 <= head_epochs <= epochs or epochs < 1 or batch_size < 1:
        raise ValueError(f"expected 0 <= head_epochs <= epochs, epochs >= 1, batch_size >= 1, "
                         f"got head_epochs={head_epochs}, epochs={epochs}, batch_size={batch_size}")
    model.to(device)
    generator, rows = torch.Generator().manual_seed(seed), []
    bar = progress_bar(total=epochs * math.ceil(len(images) / batch_size), desc="fine-tune VGG11-BN")
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # dropout masks
        for epoch in range(epochs):
            if epoch in (0, head_epochs):
                phase = "head" if epoch < head_epochs else "all"
                for p in model.parameters():
                    p.requires_grad = phase == "all"
                for p in model.classifier[6].parameters():
                    p.requires_grad = True
                params = [p for p in model.parameters() if p.requires_grad]
                optimizer = torch.optim.Adam(params, lr=lr_head if phase == "head" else lr_all)
            model.train()
            total, correct = 0.0, 0
            for idx in torch.randperm(len(images), generator=generator).split(batch_size):
                x = image_batch(images[idx.numpy()], image_size).to(device)
                y = torch.as_tensor(labels[idx.numpy()], dtype=torch.long, device=device)
                optimizer.zero_grad()
                out = model(x)  # (batch, n_classes) logits
                loss = nn.functional.cross_entropy(out, y)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
                correct += (out.argmax(1) == y).sum().item()
                bar.update()
            rows.append({"epoch": epoch + 1, "phase": phase, "loss": total / len(images),
                         "accuracy": correct / len(images)})
    bar.close()
    for p in model.parameters():
        p.requires_grad = True
    return model.eval(), pd.DataFrame(rows)


def image_features(model: VGG11BN, images: np.ndarray, *, kind: str = "logits", batch_size: int = 128,
                   image_size: int = 224, device="cpu") -> np.ndarray:
    """float32 (n, n_classes) logits (LUMA) or (n, hidden) ``"penultimate"`` activations.

    ``"penultimate"`` is the input of the original ``classifier[6]`` (4096-D for ImageNet VGG11-BN),
    the label-free alternative. Eval mode, no gradients. (LUMA extracts the images it fine-tuned on
    while the model is still in train mode -- dropout active -- and its test images in eval mode.)
    """
    if kind not in ("logits", "penultimate"):
        raise ValueError(f"kind: expected 'logits' or 'penultimate', got {kind!r}")
    images = _check_images(images)
    model.eval().to(device)
    out = []
    with torch.no_grad():
        for start in progress_bar(range(0, len(images), batch_size), desc=f"image {kind}", leave=False):
            x = image_batch(images[start:start + batch_size], image_size).to(device)
            out.append((model(x) if kind == "logits" else model.penultimate(x)).float().cpu().numpy())
    return np.concatenate(out)
