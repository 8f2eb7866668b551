"""Extraction chunks as tasks: what a chunk computes (:class:`Extractor`) and where a worker gets
its model (:class:`ModelSource`), loaded once per worker process, never sent with every task.

A chunk task (:func:`extract_chunk`) receives the :class:`Extractor` (scattered once to every
worker by :func:`mmae.cluster.run`) and the chunk's items. In the process that built the bundle
the extractor carries the model already in memory; pickled for a worker it carries only its
description -- the :class:`ModelSource`, the fine-tuned weights' file and the fingerprint the
model must have -- and the worker loads it once (:func:`worker_model`), checking that fingerprint,
so that a worker with other weights (another download, a stale copy of ``parts/``) fails instead of
computing other features. An extractor without a source (models passed as objects) carries them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

SOURCES = ("pretrained", "tiny")


@dataclass(frozen=True)
class ModelSource:
    """Where LUMA's three models come from, so that any process can make them again.

    Attributes
    ----------
    name : {"pretrained", "tiny"}
        :func:`mmae.luma.extract.load_pretrained` (downloaded once, then read from the cache) or
        :func:`mmae.luma.extract.tiny_models` (small random models, the same for the same seed).
    seed : int
        The tiny models' seed.
    dims : tuple of (str, int)
        The tiny models' feature sizes, as ``(kind, size)`` pairs (empty: LUMA's).
    cache_dir : str or None
        Where the pretrained weights are cached (None: torch's and Hugging Face's defaults).
    """

    name: str = "pretrained"
    seed: int = 0
    dims: tuple = ()
    cache_dir: str | None = None

    def __post_init__(self):
        if self.name not in SOURCES:
            raise ValueError(f"ModelSource.name must be one of {SOURCES}, got {self.name!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise TypeError(f"ModelSource.seed must be an int, got {type(self.seed).__name__} {self.seed!r}")
        if not isinstance(self.dims, tuple) or not all(isinstance(d, tuple) and len(d) == 2 for d in self.dims):
            raise TypeError(f"ModelSource.dims must be a tuple of (kind, size) pairs, got {self.dims!r}")

    def model(self, kind: str):
        """The model of ``kind`` ("image", "audio" or "text": a (BertModel, tokenizer) pair), eval mode."""
        return self.load(kind)[kind]

    def load(self, *kinds: str) -> dict:
        """``{kind: model}`` for ``kinds`` (default all three) and ``"info"``: ``{kind: info}`` where known."""
        from mmae.luma.extract.models import KINDS, load_pretrained, tiny_models

        kinds = kinds or KINDS
        if self.name == "tiny":
            return {"info": {}, **tiny_models(self.seed, dict(self.dims) or None)}
        out = {"info": {}}
        for kind in kinds:
            out[kind], out["info"][kind] = load_pretrained(kind, self.cache_dir)
        return out


@dataclass(frozen=True)
class Extractor:
    """What a chunk task computes: one modality's features, with the keyword arguments of its
    feature function and the model it runs.

    Attributes
    ----------
    kind : {"image", "audio", "text"}
    options : tuple of (str, object)
        Keyword arguments of :func:`~mmae.luma.extract.image_features`, :func:`~mmae.luma.extract.audio_features`
        or :func:`~mmae.luma.extract.text_features` (device as a string).
    fingerprint : str
        :func:`~mmae.luma.extract.model_fingerprint` of the model (the fine-tuned one for image logits).
    source : ModelSource or None
        How a worker makes the model again; None: the model itself travels with the extractor.
    head : tuple
        Image logits: ``(weights file, n_classes, seed)`` of the fine-tuned head (:func:`~mmae.luma.extract.replace_head`).
    model : object
        The model in this process (not pickled when ``source`` can make it again).
    """

    kind: str
    options: tuple
    fingerprint: str
    source: ModelSource | None = None
    head: tuple = ()
    model: object = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.source is not None:
            state["model"] = None  # a worker loads it once (worker_model), not once per scatter
        return state

    def get_model(self):
        """The model: the one carried, else :func:`worker_model` (loaded once per process)."""
        if self.model is not None:
            return self.model
        return worker_model(self.source, self.kind, self.head, self.fingerprint)


@lru_cache(maxsize=1)
def worker_model(source: ModelSource, kind: str, head: tuple, fingerprint: str):
    """The model of ``kind`` from ``source``, with the fine-tuned ``head`` loaded, once per process
    (one model at a time: a worker runs one modality's chunks after another's).

    Raises
    ------
    ValueError
        The model's fingerprint is not ``fingerprint``: the worker loaded other weights (its own
        download of another revision, or a ``parts/`` folder it does not share with this process).
    """
    import torch

    from mmae.luma.extract.image import replace_head
    from mmae.luma.extract.models import model_fingerprint

    model = source.model(kind)
    if head:
        weights, n_classes, seed = head
        replace_head(model, n_classes=n_classes, seed=seed)
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    net = model[0] if kind == "text" else model
    got = model_fingerprint(net)
    if got != fingerprint:
        what = f"the fine-tuned weights {head[0]}" if head else f"the {source.name} {kind} model"
        raise ValueError(f"{what}: expected fingerprint {fingerprint}, got {got} in this worker (other weights: "
                         "workers must see the same model cache and OUT_DIR/parts on a shared file system)")
    net.eval()
    return model


def extract_chunk(extractor: Extractor, chunk):
    """The features of one chunk: uint8 images, audio file paths or (masked) texts."""
    from mmae.luma.extract.audio import audio_features, read_audio
    from mmae.luma.extract.image import image_features
    from mmae.luma.extract.text import text_features

    model, options = extractor.get_model(), dict(extractor.options)
    if extractor.kind == "image":
        return image_features(model, chunk, **options)
    if extractor.kind == "audio":
        return audio_features(model, [read_audio(p) for p in chunk], **options)
    return text_features(*model, list(chunk), **options)
