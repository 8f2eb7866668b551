"""Data: feature bundles, the embedded data sets and transforms of their features.

==============  ======================================================================
``features``    :class:`Features`, the splits x modalities of one data set; LUMA's names
``bundle``      the bundle folder layout: :func:`load_bundle` (strictly validated, plain or pooled)
``save``        :func:`save_bundle` (plain or pooled modalities)
``manifest``    ``manifest.json``: schema, paths kept inside the bundle, regular files only, sha256
``sets``        :func:`load_features`: ``"real"``, ``"real:cifar10"``, ``"synthetic[:variant]"`` or a folder
``synthetic``   the LUMA-shaped synthetic generator and its variants
``transforms``  :func:`standardize` (fitted on train only), :func:`add_gaussian_noise`
==============  ======================================================================
"""
from mmae.data.bundle import bundle_modalities, load_bundle, sha256_file, verify_manifest
from mmae.data.features import DEFAULT_DIMS, MODALITIES, SPLITS, Features
from mmae.data.save import save_bundle
from mmae.data.sets import REAL_NAME, REAL_SETS, load_features
from mmae.data.transforms import add_gaussian_noise, standardize

__all__ = ["Features", "MODALITIES", "SPLITS", "DEFAULT_DIMS", "REAL_NAME", "REAL_SETS", "load_features",
           "load_bundle", "save_bundle", "bundle_modalities", "sha256_file", "verify_manifest", "standardize",
           "add_gaussian_noise"]
