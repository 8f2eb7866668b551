"""Several seeds of one model trained as one: ``torch.func`` over the model's own code.

:class:`Ensemble` stacks the weights and buffers of S models of one architecture on a leading axis
(``torch.func.stack_module_state``) and runs the model's own methods and loss over that axis with
``torch.func.vmap`` and ``functional_call`` (the PyTorch "model ensembling" recipe): no layer is
written twice. BatchNorm's running statistics are stacked buffers too and update under ``vmap``.
Replica ``s`` computes what ``models[s]`` would, up to floating-point reassociation
(``tests/test_ensemble.py`` states the tolerance).
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap


class _Call(nn.Module):
    """``fn(model, *args)`` as a module's forward, so that ``functional_call`` can swap in the
    weights of one replica for any method of the model, not only its ``forward``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, fn, *args):
        return fn(self.model, *args)


class Ensemble(nn.Module):
    """S models of one architecture as one module whose parameters carry a leading replica axis.

    Parameters
    ----------
    models : list of torch.nn.Module
        S >= 1 models of the same class and configuration (their weights are copied).
    """

    def __init__(self, models: list[nn.Module]):
        super().__init__()
        if not models:
            raise ValueError("Ensemble needs at least one model, got none")
        params, buffers = stack_module_state(models)
        self.S, self._names = len(models), (list(params), list(buffers))
        for k, v in params.items():
            self.register_parameter(_flat(k), nn.Parameter(v.detach().clone()))
        for k, v in buffers.items():
            self.register_buffer(_flat(k), v.clone())
        self._shell = [_Call(copy.deepcopy(models[0]).to("meta"))]  # the architecture without weights (a list: no submodule)

    def map(self, fn, *args, in_dims: tuple):
        """``fn(model_s, *args_s)`` for every replica s at once: each output gains a leading axis S.
        ``in_dims`` says per argument which axis is the replica axis (None: shared by all)."""
        shell = self._shell[0].train(self.training)
        params = {"model." + k: getattr(self, _flat(k)) for k in self._names[0]}
        buffers = {"model." + k: getattr(self, _flat(k)) for k in self._names[1]}

        def one(p, b, *a):
            return functional_call(shell, (p, b), (fn, *a))
        return vmap(one, in_dims=(0, 0, *in_dims), randomness="error")(params, buffers, *args)

    @torch.no_grad()
    def unstack(self, models: list[nn.Module]) -> list[nn.Module]:
        """Copy replica s's weights and buffers into ``models[s]`` (same architecture); returns them."""
        for s, model in enumerate(models):
            state = model.state_dict()
            for k in self._names[0] + self._names[1]:
                state[k].copy_(getattr(self, _flat(k))[s])
        return models


def _flat(name: str) -> str:
    """A parameter's dotted name as one attribute name (``encoders.image.0.weight`` -> ``encoders__image__0__weight``)."""
    return name.replace(".", "__")


def stack_args(values: list[Tensor | None]) -> Tensor | None:
    """One replica axis for per-replica tensors (None when every replica has None)."""
    return None if values[0] is None else torch.stack(values)
