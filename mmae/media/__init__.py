"""Real, LUMA-like tri-modal data sets built from real media with real pretrained encoders.

Two sets ship with the package:

* the **LUMA-shaped real set** (``data="real"``; :mod:`mmae.media.make50`, :mod:`mmae.media.extract50`
  (its chunks as tasks of :func:`mmae.cluster.run`), :mod:`mmae.media.build50`, committed in
  ``mmae/media/tiny50/``): 50 Tiny ImageNet classes, 42 in distribution and 8 out, LUMA's counts,
  15 offline voices through Whisper-base, WordNet descriptions;
* the **small real set** (``data="real:cifar10"``; this docstring, :mod:`mmae.media.make`,
  committed in ``mmae/media/bundle/``), described below.

The small set follows LUMA's recipe (Bezirganyan et al. 2024) on sources reachable offline:

* **classes** -- the 10 CIFAR-10 classes; 8 in distribution (ID, labels 0..7 in CIFAR order) and the
  ``OOD_CLASSES`` frog and truck (labels 8, 9). ID: 500 train + 100 test triplets per class; OOD:
  300 per class.
* **image** -- CIFAR-10 (Krizhevsky 2009) upsampled to 224 x 224 into EfficientNet-Lite0 (ImageNet
  weights, :mod:`mmae.media.efficientnet`); a new head 1280 -> 512 -> 8 is fitted on the ID train
  labels and its logits are the 8-D image features (``image_features="penultimate_pca"``: PCA-50 of
  the 1280-D pooled features instead, label-free).
* **audio** -- the class word spoken by 32 espeak-ng speakers with per-clip augmentation, 192-D
  log-mel statistics (:mod:`mmae.media.speech`); the speaker is kept as a nuisance label.
* **text** -- WordNet 3.0 glosses and examples of the class synset and its hyponyms, class word
  masked, mean-pooled all-MiniLM-L6-v2 (384-D) (:mod:`mmae.media.wordnet`).
* **pairing** -- the three modalities of a triplet share only the class, drawn at random (seed 42).

The built bundle (``BUNDLE_DIR``, read by :func:`mmae.data.load_bundle`) is committed;
``python -m mmae.media build`` rebuilds it from raw media and ``python -m mmae.media verify``
recomputes a slice of rows and compares them with the committed ones.
"""
from mmae.data.sets import REAL_SETS

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
OOD_CLASSES = ("frog", "truck")
ID_CLASSES = tuple(c for c in CLASSES if c not in OOD_CLASSES)
#: class names in label order: ID classes 0..7, then the OOD classes 8, 9
LABEL_NAMES = ID_CLASSES + OOD_CLASSES
BUNDLE_DIR = REAL_SETS["real:cifar10"][0]  # the small set (CIFAR-10), where mmae.data reads it
BUNDLE50_DIR = REAL_SETS["real"][0]  # the LUMA-shaped set (the default data)

_PUBLIC = {"MediaConfig": "make", "build": "make", "draw_triplets": "make", "rebuild_rows": "make", "verify": "make",
           "download_cifar": "cifar", "read_cifar": "cifar"}
__all__ = ["CLASSES", "OOD_CLASSES", "ID_CLASSES", "LABEL_NAMES", "BUNDLE_DIR", "BUNDLE50_DIR", *_PUBLIC]


def __getattr__(name: str):
    """The builder's functions, imported on first use: reading the committed bundle needs none of them."""
    if name in _PUBLIC:
        from importlib import import_module

        return getattr(import_module(f"mmae.media.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module 'mmae.media' has no attribute {name!r}")
