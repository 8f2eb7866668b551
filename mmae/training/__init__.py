"""Training: the configuration, one trainer for every model, and checkpoints.

==============  ======================================================================
``config``      :class:`TrainConfig` and its parts (:class:`Optim`, :class:`Runtime`, the model's knobs)
``loop``        :func:`train` (one seed), :func:`train_seeds` (several, together), :func:`encode`
``ensemble``    several seeds as one module: ``torch.func.vmap`` over the model's own code
``replicas``    the knobs of a model's loss, and those that differ between the models of one run
``resume``      between epochs: the non-finite guard and the resume state of a killed run
``checkpoint``  one checkpoint schema for 1..S seeds, :func:`load_or_train` and :func:`load_or_train_seeds`
==============  ======================================================================
"""
from mmae.device import pick_device
from mmae.training.checkpoint import (cached, holds, latents_match, load_checkpoint, load_or_train, load_or_train_seeds,
                                      resume_path_of, save_checkpoint, save_run)
from mmae.training.config import Optim, Runtime, TrainConfig, evolve, make_config, run_params
from mmae.training.loop import encode, run_id, to_tensors, train, train_seeds

__all__ = ["TrainConfig", "Optim", "Runtime", "make_config", "evolve", "train", "train_seeds", "encode", "to_tensors",
           "pick_device", "run_params", "run_id", "save_run", "save_checkpoint", "load_checkpoint", "load_or_train",
           "load_or_train_seeds", "latents_match", "resume_path_of", "cached", "holds"]
