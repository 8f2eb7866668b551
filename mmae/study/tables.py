"""Alias of :mod:`mmae.study.saved` until ``study/zoo.py`` and ``study/robustness.py`` import it by
that name; then delete this file."""
from mmae.study.saved import load_table, save_table  # noqa: F401
