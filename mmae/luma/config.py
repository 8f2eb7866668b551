"""How a LUMA copy becomes a feature bundle: :class:`ExtractConfig` and its allowed choices."""
from __future__ import annotations

from dataclasses import dataclass

CHOICES = {"image_features": ("finetuned_logits", "penultimate_pca"), "finetune_on": ("train", "all"),
           "text_pooling": ("mean", "cls")}


@dataclass
class ExtractConfig:
    """How a LUMA copy becomes a feature bundle (every field lands in the manifest).

    Attributes
    ----------
    seed : int
        Seed of the triplet shuffling (LUMA's ``cfg/default.yml``: 42), of fine-tuning and of PCA.
    image_features : {"finetuned_logits", "penultimate_pca"}
        LUMA's recipe (VGG11-BN fine-tuned on the class labels, its 50 logits: labels leak into the
        image modality) or the label-free alternative (ImageNet VGG11-BN's 4096-D penultimate
        activations, PCA to 50 fitted on train).
    finetune_on : {"train", "all"}
        Images the head is fine-tuned on: the bundle's train split, or LUMA's whole image table
        (all 50 classes, OOD classes and EDM images included), as LUMA's code does.
    finetune_epochs, head_epochs : int
        LUMA: 15 epochs, the first 5 training the new head only.
    image_size : int
        Side the 32x32 images are resized to (LUMA: 224).
    text_pooling : {"mean", "cls"}
        Mean of BERT's last layer over tokens (LUMA's code) or its [CLS] token (the paper's text).
    text_max_length : int
        Tokens kept per text (BERT's limit: 512).
    audio_normalize : bool
        Zero-mean unit-variance per clip before wav2vec 2.0 (torchaudio's WAV2VEC2_LARGE: no).
    batch_size : int
        Batch size of fine-tuning and of image/text extraction.
    chunk_size : int
        Items per saved part: extraction resumes at the first missing part.
    device : str
        ``"auto"`` picks cuda, then mps, then cpu.
    """

    seed: int = 42
    image_features: str = "finetuned_logits"
    finetune_on: str = "train"
    finetune_epochs: int = 15
    head_epochs: int = 5
    image_size: int = 224
    text_pooling: str = "mean"
    text_max_length: int = 512
    audio_normalize: bool = False
    batch_size: int = 32
    chunk_size: int = 1024
    device: str = "auto"

    def __post_init__(self):
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"ExtractConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not 0 <= self.head_epochs <= self.finetune_epochs:
            raise ValueError(f"ExtractConfig: need 0 <= head_epochs <= finetune_epochs, got "
                             f"{self.head_epochs} and {self.finetune_epochs}")
        for name in ("image_size", "text_max_length", "batch_size", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"ExtractConfig.{name} must be >= 1, got {getattr(self, name)}")
