"""mmae: an executable companion to "Reconstruction-Driven Multimodal Representation Learning for
Automated Media Understanding" (Benhammou, Kalyan, Kumar; arXiv 2511.17596).

The package in layers, from the data up to what the reader sees. A module imports only from the
layers below its own (``tests/test_imports.py`` reads every import, lazy ones included), never
from a layer beside it, and no import cycle closes between modules::

    notebooks/                 the book's chapters (not a package)
    bench                      python -m mmae.bench
    report                     tables for readers, computed findings, figures, provenance
    study                      the models compared, the questions asked of them, sweeps, robustness
    media                      the committed real sets: built from raw media, measured on the way
    baselines  params          PCA + K-Means, Tables II-III | a notebook's parameters checked, its TrainConfig
    training  evaluation       the config, the one trainer, checkpoints | clustering, retrieval, probe, tagging, OOD
    models                     the MMAE and its comparators, each with its loss
    luma                       LUMA's recipe from raw media to a bundle
    data                       feature bundles, the data sets by name, synthetic variants, transforms
    cluster                    where independent tasks run (Dask: a LocalCluster, a scheduler, or here)
    atomic  folders  artifacts  device  progress  paper  rules  watchdog
                               atomic writes, folders claimed and locked, paths and run keys,
                               devices, progress bars, the paper's numbers, declarative checks of
                               parameters, the chapter's time limit

``data`` reads the committed real sets from the folders that :data:`mmae.data.sets.REAL_SETS`
names (under ``mmae/media/``); ``media`` writes them there, and nothing below ``media`` imports it.
"""
__version__ = "0.1.0"

#: the layers, bottom first: sub-packages and top-level modules of one layer import only from earlier layers
LAYERS = (("atomic", "folders", "artifacts", "device", "progress", "paper", "rules", "watchdog"), ("cluster",),
          ("data",), ("luma",), ("models",), ("training", "evaluation"), ("baselines", "params"), ("media",), ("study",), ("report",), ("bench",))
