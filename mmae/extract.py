"""LUMA's feature extractors: image 50-D, audio 1024-D, text 768-D (paper, Table I).

Follows LUMA's own code (github.com/bezirganyan/LUMA, ``data_generation/``):

* image (``image_processing.py``: ``extract_deep_image_features``, ``finetune_model``): torchvision's
  ImageNet VGG11-BN, ``classifier[-1]`` replaced by Linear(4096, 512)-ReLU-Linear(512, 50), 15 epochs
  of Adam with batch 32 (5 on the new head at 1e-3, then 10 on everything at 1e-4); 32x32 images
  resized to 224 (PIL bilinear), ImageNet mean/std; the feature is the 50 logits.
* audio (``audio_processing.py``: ``extract_audio_deep_features``): torchaudio's WAV2VEC2_LARGE at
  16 kHz, one clip at a time, output of the last transformer layer averaged over time.
* text (``text_processing.py``: ``extract_deep_text_features``): words whose Lancaster stem equals
  the class name replaced by [MASK], then bert-base-uncased, last layer averaged over tokens.

torchvision and torchaudio are not needed: :class:`VGG11BN` loads torchvision's weights, and
``facebook/wav2vec2-large`` (model card: large, pre-trained on LibriSpeech 960 h, not fine-tuned) is
the Hugging Face conversion of the fairseq checkpoint WAV2VEC2_LARGE wraps (not compared numerically
here). Heavy imports happen inside functions; nothing downloads at import time.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

# torchvision VGG11_BN_Weights.IMAGENET1K_V1 (torchvision/models/vgg.py; 8 hex = sha256 prefix)
IMAGE_WEIGHTS_URL = "https://download.pytorch.org/models/vgg11_bn-6002323d.pth"
AUDIO_MODEL_ID = "facebook/wav2vec2-large"  # LibriSpeech 960 h, not fine-tuned = WAV2VEC2_LARGE
TEXT_MODEL_ID = "bert-base-uncased"  # text_processing.py: bert_version
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
KINDS = ("image", "audio", "text")


class VGG11BN(nn.Module):
    """torchvision's ``vgg11_bn`` (cfg "A" with batch norm), same ``state_dict`` keys.

    Convolutions sit at ``features.{0,4,8,11,15,18,22,25}``, batch norms one index later, max-pools
    after convolutions 1, 2, 4, 6 and 8; ``classifier.{0,3,6}`` are the Linear layers. Small
    ``widths``/``hidden`` give the same layout for tests. PyTorch's default initialisation
    (torchvision's own is irrelevant once its weights are loaded).
    """

    def __init__(self, num_classes=1000, widths=(64, 128, 256, 256, 512, 512, 512, 512), hidden=4096,
                 dropout=0.5):
        super().__init__()
        if len(widths) != 8:
            raise ValueError(f"widths: expected 8 convolution widths (VGG cfg 'A'), got {len(widths)}")
        layers, c_in = [], 3
        for i, width in enumerate(widths):
            layers += [nn.Conv2d(c_in, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if i in (0, 1, 3, 5, 7):
                layers.append(nn.MaxPool2d(2, 2))
            c_in = width
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(c_in * 49, hidden), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """(n, 3, H, W) images -> (n, hidden) activations feeding ``classifier[6]``."""
        return self.classifier[:6](torch.flatten(self.avgpool(self.features(x)), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier[6](self.penultimate(x))


def replace_head(model: VGG11BN, n_classes: int = 50, width: int = 512, dropout: float = 0.0,
                 seed: int = 0) -> VGG11BN:
    """Replace ``classifier[6]`` by LUMA's head Linear(hidden, width)-ReLU-Linear(width, n_classes).

    LUMA's head has no dropout (``image_processing.py``); ``dropout > 0`` inserts one after the
    ReLU (then the last Linear is ``classifier.6.3``, not LUMA's ``classifier.6.2``). The head is
    initialised by PyTorch's defaults from ``seed``. Returns ``model`` (changed in place).
    """
    if n_classes < 1 or width < 1 or not 0 <= dropout < 1:
        raise ValueError(f"expected n_classes >= 1, width >= 1, 0 <= dropout < 1, "
                         f"got {n_classes}, {width}, {dropout}")
    hidden = model.classifier[3].out_features  # 4096, also when the head was replaced before
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers = [nn.Linear(hidden, width), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
        head = nn.Sequential(*layers, nn.Linear(width, n_classes))
    model.classifier[6] = head.to(model.classifier[0].weight.device)
    return model


def _check_images(images) -> np.ndarray:
    ok = isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 4
    if not ok or images.shape[-1] != 3 or len(images) == 0:
        got = f"{type(images).__name__} {getattr(images, 'dtype', '')} {getattr(images, 'shape', '')}"
        raise ValueError(f"images: expected a uint8 array (n, H, W, 3) with n >= 1, got {got}")
    return images


def image_batch(images: np.ndarray, size: int = 224) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> float32 (n, 3, size, size), as LUMA's ``ImageDataset`` transform.

    torchvision's ``Resize((size, size))`` on a PIL image is PIL's bilinear resize; ``ToTensor``
    divides by 255; ``Normalize`` uses the ImageNet mean/std.
    """
    from PIL import Image

    images = _check_images(images)
    resized = np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.BILINEAR))
                        for im in images])
    x = torch.from_numpy(resized).permute(0, 3, 1, 2).float().div(255)
    return (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def finetune_vgg(model: VGG11BN, images: np.ndarray, labels, *, epochs: int = 15, head_epochs: int = 5,
                 lr_head: float = 1e-3, lr_all: float = 1e-4, batch_size: int = 32, image_size: int = 224,
                 seed: int = 42, device="cpu"):
    """Fine-tune as LUMA's ``finetune_model``: the head alone, then every layer.

    Epochs ``< head_epochs`` train ``classifier[6]`` (Adam, ``lr_head``) with every other parameter
    frozen; later epochs train all (a new Adam, ``lr_all``). As in LUMA the model is in train mode
    throughout, so batch-norm running statistics move in the head phase too. Shuffling (a
    ``torch.Generator``) and dropout are seeded by ``seed``.

    Returns
    -------
    model : VGG11BN
        The same model, fine-tuned, in eval mode.
    history : pandas.DataFrame
        One row per epoch: ``epoch`` (1-based), ``phase`` ("head" or "all"), ``loss`` (mean over
        the epoch; LUMA prints the last batch's), ``accuracy`` (on the training images).
    """
    import pandas as pd

    images, labels = _check_images(images), np.asarray(labels)
    n_classes = [m for m in model.classifier[6].modules() if isinstance(m, nn.Linear)][-1].out_features
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected {len(images)} integers, got {labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels: expected values in [0, {n_classes}), got [{labels.min()}, {labels.max()}]")
    if not 0 <= head_epochs <= epochs or epochs < 1 or batch_size < 1:
        raise ValueError(f"expected 0 <= head_epochs <= epochs, epochs >= 1, batch_size >= 1, "
                         f"got head_epochs={head_epochs}, epochs={epochs}, batch_size={batch_size}")
    model.to(device)
    generator, rows = torch.Generator().manual_seed(seed), []
    bar = tqdm(total=epochs * math.ceil(len(images) / batch_size), desc="fine-tune VGG11-BN")
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # dropout masks
        for epoch in range(epochs):
            if epoch in (0, head_epochs):
                phase = "head" if epoch < head_epochs else "all"
                for p in model.parameters():
                    p.requires_grad = phase == "all"
                for p in model.classifier[6].parameters():
                    p.requires_grad = True
                params = [p for p in model.parameters() if p.requires_grad]
                optimizer = torch.optim.Adam(params, lr=lr_head if phase == "head" else lr_all)
            model.train()
            total, correct = 0.0, 0
            for idx in torch.randperm(len(images), generator=generator).split(batch_size):
                x = image_batch(images[idx.numpy()], image_size).to(device)
                y = torch.as_tensor(labels[idx.numpy()], dtype=torch.long, device=device)
                optimizer.zero_grad()
                out = model(x)  # (batch, n_classes) logits
                loss = nn.functional.cross_entropy(out, y)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
                correct += (out.argmax(1) == y).sum().item()
                bar.update()
            rows.append({"epoch": epoch + 1, "phase": phase, "loss": total / len(images),
                         "accuracy": correct / len(images)})
    bar.close()
    for p in model.parameters():
        p.requires_grad = True
    return model.eval(), pd.DataFrame(rows)


def image_features(model: VGG11BN, images: np.ndarray, *, kind: str = "logits", batch_size: int = 128,
                   image_size: int = 224, device="cpu") -> np.ndarray:
    """float32 (n, n_classes) logits (LUMA) or (n, hidden) ``"penultimate"`` activations.

    ``"penultimate"`` is the input of the original ``classifier[6]`` (4096-D for ImageNet VGG11-BN),
    the label-free alternative. Eval mode, no gradients. (LUMA extracts the images it fine-tuned on
    while the model is still in train mode -- dropout active -- and its test images in eval mode.)
    """
    if kind not in ("logits", "penultimate"):
        raise ValueError(f"kind: expected 'logits' or 'penultimate', got {kind!r}")
    images = _check_images(images)
    model.eval().to(device)
    out = []
    with torch.no_grad():
        for start in tqdm(range(0, len(images), batch_size), desc=f"image {kind}", leave=False):
            x = image_batch(images[start:start + batch_size], image_size).to(device)
            out.append((model(x) if kind == "logits" else model.penultimate(x)).float().cpu().numpy())
    return np.concatenate(out)


def read_audio(path, sample_rate: int = 16000) -> np.ndarray:
    """A sound file -> float32 (samples,) mono at ``sample_rate``.

    Channels are averaged (LUMA's ``waveform.reshape(1, -1)`` concatenates them instead; the same for
    mono files) and resampled with ``scipy.signal.resample_poly`` (LUMA:
    ``torchaudio.functional.resample``, a windowed-sinc filter: values differ slightly).
    """
    import soundfile
    from scipy.signal import resample_poly

    if sample_rate < 1:
        raise ValueError(f"sample_rate: expected a positive integer, got {sample_rate}")
    wave, rate = soundfile.read(str(path), dtype="float32", always_2d=True)  # (samples, channels)
    if len(wave) == 0:
        raise ValueError(f"{path}: expected audio samples, got an empty file")
    wave = wave.mean(axis=1)
    if rate != sample_rate:
        g = math.gcd(rate, sample_rate)
        wave = resample_poly(wave, sample_rate // g, rate // g)
    return wave.astype(np.float32)


def _min_samples(config) -> int:
    """Fewest samples giving one frame through the conv stack (400 for wav2vec 2.0 large)."""
    n = 1
    for k, s in zip(reversed(config.conv_kernel), reversed(config.conv_stride)):
        n = (n - 1) * s + k
    return n


def audio_features(model, waves, *, device="cpu", normalize: bool = False) -> np.ndarray:
    """float32 (n, hidden): a ``transformers.Wav2Vec2Model``'s last layer averaged over time, per clip.

    For ``facebook/wav2vec2-large`` (post-norm encoder) ``last_hidden_state`` is the last transformer
    layer's output, i.e. torchaudio's ``extract_features(...)[-1]`` that LUMA averages. Clips run one
    at a time (different lengths, no padding). ``normalize`` standardises each clip (Hugging Face's
    feature-extractor default); torchaudio's WAV2VEC2_LARGE does not (``_normalize_waveform=False``),
    nor does LUMA. With the group norm after the first convolution (``feat_extract_norm="group"``,
    as in wav2vec 2.0 large LS-960) the features barely depend on a clip's offset and scale anyway.
    """
    if len(waves) == 0:
        raise ValueError("waves: expected at least one waveform, got 0")
    model.eval().to(device)
    least, out = _min_samples(model.config), []
    with torch.no_grad():
        for i, wave in enumerate(tqdm(waves, desc="audio", leave=False)):
            wave = np.asarray(wave, dtype=np.float32)
            if wave.ndim != 1 or len(wave) < least:
                raise ValueError(f"waves[{i}]: expected a 1-D waveform of >= {least} samples, "
                                 f"got shape {wave.shape}")
            x = torch.from_numpy(wave)[None].to(device)  # (1, samples)
            if normalize:
                x = (x - x.mean()) / torch.sqrt(x.var(correction=0) + 1e-7)
            h = model(x).last_hidden_state  # (1, frames, hidden)
            out.append(h.mean(1)[0].float().cpu().numpy())
    return np.stack(out)


def mask_class_word(text: str, class_name: str, mask: str = "[MASK]", *, tokenizer=None,
                    stem_label: bool = False) -> str:
    """LUMA's ``mask_label_from_text``: replace the words whose Lancaster stem equals ``class_name``.

    LUMA compares each token's stem with the class name itself (not with its stem), so classes
    whose name is not its own stem are never masked ("horse" -> "hors", "house", "woman", ... 16 of
    50); ``stem_label=True`` compares with the class name's stem instead. Matched tokens are replaced
    as substrings, as LUMA's ``str.replace`` does ("man" also masks "wo[MASK]"). The text comes back
    lower-cased (LUMA: the uncased tokenizer's decode). With ``tokenizer`` (LUMA's BERT tokenizer)
    the tokens are its word pieces and the text its decode -- exactly LUMA; without, words are runs
    of letters/digits.
    """
    from nltk.stem import LancasterStemmer

    if not isinstance(text, str) or not isinstance(class_name, str) or not class_name.strip():
        raise ValueError(f"expected a text and a non-empty class name, got {text!r}, {class_name!r}")
    stemmer = LancasterStemmer()
    target = stemmer.stem(class_name) if stem_label else class_name.lower()
    if tokenizer is None:
        text = text.lower()
        tokens = re.findall(r"\w+", text)
    else:
        ids = tokenizer(text)["input_ids"]
        tokens = tokenizer.convert_ids_to_tokens(ids)
        text = tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True)
    for token in tokens:
        if stemmer.stem(token) == target:
            text = text.replace(token, mask)
    return text


def text_features(model, tokenizer, texts, *, pooling: str = "mean", max_length: int = 512,
                  batch_size: int = 32, device="cpu") -> np.ndarray:
    """float32 (n, hidden) from a transformers ``BertModel``: mean over tokens or the [CLS] token.

    ``"mean"`` averages ``last_hidden_state`` over the attention mask ([CLS] and [SEP] included),
    equal to LUMA's unpadded one-text-at-a-time mean; ``"cls"`` takes token 0 (the paper's text).
    """
    if pooling not in ("mean", "cls"):
        raise ValueError(f"pooling: expected 'mean' or 'cls', got {pooling!r}")
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"texts: expected a non-empty list of strings, got {len(texts)} items")
    model.eval().to(device)
    out = []
    with torch.no_grad():
        for start in tqdm(range(0, len(texts), batch_size), desc=f"text {pooling}", leave=False):
            enc = tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                            max_length=max_length, return_tensors="pt").to(device)
            h = model(**enc).last_hidden_state  # (batch, tokens, hidden)
            if pooling == "cls":
                pooled = h[:, 0]
            else:
                m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)  # (batch, tokens, 1)
                pooled = (h * m).sum(1) / m.sum(1)
            out.append(pooled.float().cpu().numpy())
    return np.concatenate(out)


def run_in_chunks(fn, items, folder, name: str, chunk_size: int = 1024,
                  desc: str | None = None) -> np.ndarray:
    """``fn`` on consecutive chunks of ``items``, each result saved as ``folder/{name}_part{i:05d}.npy``.

    Parts already on disk are loaded, not recomputed, so a crashed run resumes. A part is written
    to a temporary file and renamed (never half-written); one whose row count does not match its
    chunk (another ``chunk_size``) raises. Returns the parts concatenated in order.
    """
    if len(items) == 0 or chunk_size < 1:
        raise ValueError(f"expected items and chunk_size >= 1, "
                         f"got {len(items)} items, chunk_size={chunk_size}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for i, start in enumerate(tqdm(range(0, len(items), chunk_size), desc=desc or name)):
        path, size = folder / f"{name}_part{i:05d}.npy", min(chunk_size, len(items) - start)
        part = np.load(path) if path.exists() else np.asarray(fn(items[start:start + size]))
        if len(part) != size:
            raise ValueError(f"{path}: expected {size} rows (chunk {i}, chunk_size={chunk_size}), "
                             f"got {len(part)}")
        if not path.exists():
            with open(path.with_suffix(".tmp"), "wb") as f:
                np.save(f, part)
            os.replace(path.with_suffix(".tmp"), path)
        parts.append(part)
    return np.concatenate(parts)


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
    import transformers

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
    import transformers as tf

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
