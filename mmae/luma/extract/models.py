"""The models LUMA uses: pretrained (downloaded, :func:`load_pretrained`) or tiny and random
(:func:`tiny_models`, tests and offline fixtures), and the fingerprint of their weights.

Heavy imports (transformers) happen inside functions; nothing downloads at import time.
"""
from __future__ import annotations

import hashlib
import math
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from mmae.luma.extract.image import VGG11BN, replace_head
from mmae.progress import quiet_import

# torchvision VGG11_BN_Weights.IMAGENET1K_V1 (torchvision/models/vgg.py; 8 hex = sha256 prefix)
IMAGE_WEIGHTS_URL = "https://download.pytorch.org/models/vgg11_bn-6002323d.pth"
AUDIO_MODEL_ID = "facebook/wav2vec2-large"  # LibriSpeech 960 h, not fine-tuned = WAV2VEC2_LARGE
TEXT_MODEL_ID = "bert-base-uncased"  # text_processing.py: bert_version
KINDS = ("image", "audio", "text")


def model_fingerprint(model: nn.Module) -> str:
    """sha256 (hex) over the ``state_dict``: every name, shape, dtype and the raw bytes."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    digest = hashlib.sha256()
    for key, t in model.state_dict().items():
        if t.is_meta:
            raise ValueError(f"model: {key} is on the meta device and has no values to hash")
        t = t.detach().cpu().contiguous()
        digest.update(f"{key}:{tuple(t.shape)}:{t.dtype};".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def load_pretrained(kind: str, cache_dir=None):
    """The pretrained model LUMA uses for ``kind`` ("image", "audio" or "text"), in eval mode.

    Returns
    -------
    model : VGG11BN, transformers.Wav2Vec2Model or (transformers.BertModel, BertTokenizerFast)
        ImageNet VGG11-BN (torchvision's weights, hash-checked), wav2vec 2.0 large, bert-base-uncased.
    info : dict
        ``kind``, ``model_id``, ``source``, ``revision`` (hub commit, when known) and ``versions``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    transformers = quiet_import("transformers")  # it imports tqdm.auto: see mmae.progress

    model_id = {"image": "torchvision vgg11_bn IMAGENET1K_V1", "audio": AUDIO_MODEL_ID,
                "text": TEXT_MODEL_ID}[kind]
    source = IMAGE_WEIGHTS_URL if kind == "image" else f"https://huggingface.co/{model_id}"
    try:
        if kind == "image":
            state = torch.hub.load_state_dict_from_url(IMAGE_WEIGHTS_URL, model_dir=cache_dir,
                                                       check_hash=True, map_location="cpu")
            model = VGG11BN()
            model.load_state_dict(state)
        elif kind == "audio":
            model = transformers.Wav2Vec2Model.from_pretrained(AUDIO_MODEL_ID, cache_dir=cache_dir)
        else:
            model = (transformers.BertModel.from_pretrained(TEXT_MODEL_ID, cache_dir=cache_dir),
                     transformers.BertTokenizerFast.from_pretrained(TEXT_MODEL_ID, cache_dir=cache_dir))
    except OSError as err:  # urllib's URLError and huggingface_hub's offline errors are OSErrors
        if kind == "image":
            where = cache_dir or os.path.join(torch.hub.get_dir(), "checkpoints")
            fix = f"copy {IMAGE_WEIGHTS_URL.rsplit('/', 1)[1]} into {where}"
        else:
            where = cache_dir or "the Hugging Face cache (HF_HOME, default ~/.cache/huggingface)"
            fix = f"copy a cache holding {model_id} into {where} and set HF_HUB_OFFLINE=1"
        raise ConnectionError(
            f"could not download the pretrained {kind} model {model_id} from {source} ({err}). Run on a "
            f"machine with internet access (the files are then cached), or {fix}.") from err
    net = model[0] if kind == "text" else model
    net.eval()
    return model, {"kind": kind, "model_id": model_id, "source": source,
                   "revision": getattr(getattr(net, "config", None), "_commit_hash", None),
                   "versions": {"torch": torch.__version__, "transformers": transformers.__version__}}


def tiny_models(seed: int = 0, dims: dict | None = None) -> dict:
    """Small randomly initialised models of the real classes (tests, offline fixtures).

    ``dims`` sets the feature sizes (default LUMA's: image 50, audio 1024, text 768): a VGG11BN of
    widths 4-8 and hidden 64 with :func:`replace_head` to ``dims["image"]`` classes (penultimate
    64-D, enough for a PCA to 50), a one-layer ``Wav2Vec2Model`` (two small convolutions, >= 15
    samples) and a one-layer ``BertModel`` with a ``BertTokenizerFast`` over letters, word pieces and
    a few words, written to and read from a temporary vocab file. Same seed, same weights.
    """
    tf = quiet_import("transformers")  # it imports tqdm.auto: see mmae.progress

    dims = {"image": 50, "audio": 1024, "text": 768, **(dims or {})}
    if set(dims) != set(KINDS) or not all(isinstance(d, int) and d >= 1 for d in dims.values()):
        raise ValueError(f"dims: expected positive integers for {KINDS}, got {dims}")
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    vocab = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(".,;:!?'\"()-") + list(letters)
             + ["##" + c for c in letters] + ["the", "a", "and", "of", "on", "dog", "cat", "man", "woman"])
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "vocab.txt").write_text("\n".join(vocab) + "\n")
        tokenizer = tf.BertTokenizerFast.from_pretrained(tmp)
    audio_cfg = tf.Wav2Vec2Config(
        hidden_size=dims["audio"], num_hidden_layers=1, num_attention_heads=math.gcd(dims["audio"], 4),
        intermediate_size=64, conv_dim=(16, 16), conv_kernel=(5, 3), conv_stride=(5, 2),
        num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=math.gcd(dims["audio"], 16))
    text_cfg = tf.BertConfig(vocab_size=len(vocab), hidden_size=dims["text"], num_hidden_layers=1,
                             num_attention_heads=math.gcd(dims["text"], 2), intermediate_size=64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vgg = VGG11BN(widths=(4, 8, 8, 8, 8, 8, 8, 8), hidden=64)
        image = replace_head(vgg, dims["image"], width=16, seed=seed)
        audio, text = tf.Wav2Vec2Model(audio_cfg), tf.BertModel(text_cfg)
    return {"image": image.eval(), "audio": audio.eval(), "text": (text.eval(), tokenizer)}
