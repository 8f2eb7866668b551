"""LUMA's text features: the class word masked, then BERT's last layer averaged over tokens (768-D).

Follows LUMA's ``data_generation/text_processing.py`` (``extract_deep_text_features``): words whose
Lancaster stem equals the class name replaced by [MASK], then bert-base-uncased, last layer averaged
over tokens (or, as the paper says, its [CLS] token).
"""
from __future__ import annotations

import re

import numpy as np
import torch

from mmae.progress import bar


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

    if not isinstance(text, str) or not isinstance(class_name, str):
        raise TypeError(f"expected a text and a class name (str), got {type(text).__name__} {text!r}, "
                        f"{type(class_name).__name__} {class_name!r}")
    if not class_name.strip():
        raise ValueError(f"expected a non-empty class name, got {class_name!r}")
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
    if not all(isinstance(t, str) for t in texts):
        bad = next(t for t in texts if not isinstance(t, str))
        raise TypeError(f"texts: expected strings, got a {type(bad).__name__} {bad!r} among {len(texts)} items")
    if not texts:
        raise ValueError("texts: expected a non-empty list of strings, got 0 items")
    model.eval().to(device)
    out = []
    with torch.no_grad():
        for start in bar(range(0, len(texts), batch_size), desc=f"text {pooling}", leave=False):
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
