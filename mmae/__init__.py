"""mmae: an executable companion to "Reconstruction-Driven Multimodal Representation Learning for
Automated Media Understanding" (Benhammou, Kalyan, Kumar; arXiv 2511.17596).

Sub-packages, from the data up to what the reader sees (imports only run downwards):

- ``data``: feature bundles, the embedded data sets (real media, synthetic variants), transforms;
- ``luma``: LUMA's recipe from raw media to a bundle; ``media``: the committed real media set;
- ``models``: the MMAE and its comparators, each with its loss;
- ``training``: the config, the plain loop, the fast stacked engine, checkpoints;
- ``evaluation``: clustering, retrieval, probe, tagging, OOD, prediction scores;
- ``study``: the models compared, the questions asked of them, sweeps, robustness;
- ``report``: tables, computed findings, figures.

Top-level modules: ``baselines`` (Tables II-III), ``paper`` (the reported numbers), ``artifacts``
(paths and run keys), ``device``, ``bench`` (``python -m mmae.bench``).
"""
__version__ = "0.1.0"
