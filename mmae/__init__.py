"""mmae: an executable companion to "Reconstruction-Driven Multimodal Representation Learning for
Automated Media Understanding" (Benhammou, Kalyan, Kumar; arXiv 2511.17596).

Modules: ``data`` (bundles, standardisation), ``synthetic`` (the embedded LUMA-shaped default),
``model`` (the MMAE and its loss), ``train`` (training, checkpoints, latents), ``ensemble`` (the
fast engine: seeds and models stacked), ``comparators`` (MVAE, contrastive), ``metrics``,
``evaluation`` (retrieval, probe, tagging, OOD, noise), ``study`` (chapters 7-14), ``baselines``
(Tables II-III), ``paper`` (the reported numbers), ``plots``, ``artifacts``, ``bench``.
"""
__version__ = "0.1.0"
