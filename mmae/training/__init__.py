"""Training: the configuration, the plain loop and the fast stacked engine, and checkpoints.

==============  ======================================================================
``config``      :class:`TrainConfig`, frozen and validated at construction
``loop``        :func:`train`, :func:`train_reference` (the readable loop), :func:`train_seeds`, :func:`encode`
``stacked``     the fast engine: S seeds and every modality in one batched program
``replicas``    objective parameters that differ between the replicas of one run (a tuning grid)
``resume``      between epochs: the non-finite guard and the resume state of a killed run
``checkpoint``  one checkpoint schema for 1..S seeds, :func:`load_or_train` and :func:`load_or_train_seeds`
==============  ======================================================================
"""
from mmae.device import pick_device
from mmae.training.checkpoint import (latents_match, load_checkpoint, load_or_train, load_or_train_seeds,
                                      resume_path_of, run_id, run_params, save_checkpoint, save_run)
from mmae.training.config import TrainConfig
from mmae.training.loop import encode, to_tensors, train, train_reference, train_seeds

__all__ = ["TrainConfig", "train", "train_reference", "train_seeds", "encode", "to_tensors", "pick_device",
           "run_params", "run_id", "save_run", "save_checkpoint", "load_checkpoint", "load_or_train",
           "load_or_train_seeds", "latents_match", "resume_path_of"]
