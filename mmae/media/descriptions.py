"""Texts of the LUMA-shaped real set: WordNet facts about each class, composed into descriptions.

LUMA's texts are sentences a language model wrote about each class. No such model runs offline
here, and WordNet alone is thin for fine-grained classes (most of the 50 synsets have no
hyponyms: one gloss each). So each class gets a list of **facts** from WordNet 3.0
(:func:`class_facts`), and a **description** is 1 to 3 distinct facts in random order:

1. the class synset and its hyponym closure, ``"<words>: <definition>; <examples>"`` (as the
   CIFAR-10 set's texts);
2. its part, member and substance meronyms (pointers ``%p``, ``%m``, ``%s``);
3. every other noun gloss that names one of its *unambiguous* lemmas (a lemma with one noun sense
   in ``index.noun``, matched as a whole word, plural ``s``/``es`` allowed);
4. its hypernym chain, ``HYPERNYM_LEVELS`` levels up (the first hypernym at each level). These
   facts say what kind of thing the class is and are shared between classes whose chains meet
   (bee and ladybug are both insects), which makes some descriptions ambiguous, as real texts are.

Each class draws ``pool`` distinct descriptions (all of them when fewer exist), split once into
disjoint train and test pools (``train_frac``); the OOD classes draw from the whole pool.
"""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import permutations
from math import perm
from pathlib import Path

import numpy as np

from mmae.media import wordnet

HYPERNYM_LEVELS, MAX_FACTS = 3, 3


@lru_cache(maxsize=2)
def noun_senses(folder: str = str(wordnet.WORDNET_DIR)) -> dict[str, int]:
    """Number of noun senses of every lemma in ``index.noun`` (``"guinea_pig"`` -> 2)."""
    out = {}
    with open(wordnet._require(Path(folder), "index.noun"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("  "):
                fields = line.split()
                out[fields[0]] = int(fields[2])
    return out


def _mentions(terms: list[str], nouns: dict, exclude: set[int]) -> list[int]:
    if not terms:
        return []
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")(s|es)?\b", re.I)
    return [o for o, s in nouns.items() if o not in exclude and pattern.search(s.definition.replace("_", " "))]


def class_facts(wnid: str, folder: str = str(wordnet.WORDNET_DIR)) -> list[str]:
    """The WordNet facts of a class (module docstring), deduplicated, in a fixed order (cached).

    Parameters
    ----------
    wnid : str
        The class's WordNet synset id, ``"n"`` + its 8-digit noun offset (``"n01443537"``).
    folder : str
        WordNet 3.0's ``dict`` folder.
    """
    if not re.fullmatch(r"n\d{8}", str(wnid)):
        raise ValueError(f"wnid: expected 'n' and 8 digits (a noun synset offset), got {wnid!r}")
    return list(_facts(wnid, folder))


@lru_cache(maxsize=None)
def _facts(wnid: str, folder: str) -> tuple[str, ...]:
    nouns, senses = wordnet.read_nouns(folder), noun_senses(folder)
    offset = int(wnid[1:])
    if offset not in nouns:
        raise KeyError(f"{folder}/data.noun: no synset at offset {offset} (wnid {wnid})")
    own = wordnet.hyponym_closure(offset, nouns)
    parts = [o for sym, o in nouns[offset].related if sym in ("%p", "%m", "%s")]
    terms = [w.lower().replace("_", " ") for w in nouns[offset].words if senses.get(w.lower(), 0) == 1]
    seen = {s.offset for s in own}
    mentions = _mentions(terms, nouns, seen | set(parts))
    chain, o = [], offset
    for _ in range(HYPERNYM_LEVELS):
        up = [t for sym, t in nouns[o].related if sym in ("@", "@i")]
        if not up:
            break
        o = up[0]
        chain.append(o)
    facts = [s.text for s in own] + [nouns[p].text for p in parts + mentions]
    facts += [f"{', '.join(w.replace('_', ' ') for w in nouns[h].words)}: {nouns[h].definition}" for h in chain]
    return tuple(dict.fromkeys(facts))


def n_descriptions(n_facts: int, max_facts: int = MAX_FACTS) -> int:
    """How many distinct descriptions ``n_facts`` facts make: ordered choices of 1..max_facts."""
    return sum(perm(n_facts, k) for k in range(1, min(max_facts, n_facts) + 1))


def describe(facts: list[str], pool: int, rng: np.random.Generator, max_facts: int = MAX_FACTS) -> list[str]:
    """``min(pool, n_descriptions)`` distinct descriptions: 1..max_facts distinct facts, random order."""
    if not facts or pool < 1:
        raise ValueError(f"facts, pool: expected at least one fact and pool >= 1, got {len(facts)}, {pool}")
    total = n_descriptions(len(facts), max_facts)
    if total <= pool:
        every = [" ".join(facts[i] for i in p) for k in range(1, min(max_facts, len(facts)) + 1)
                 for p in permutations(range(len(facts)), k)]
        return [every[i] for i in rng.permutation(len(every))]
    out: dict[str, None] = {}
    while len(out) < pool:
        k = int(rng.integers(1, min(max_facts, len(facts)) + 1))
        out.setdefault(" ".join(facts[i] for i in rng.choice(len(facts), k, replace=False)))
    return list(out)


def text_pools(wnid: str, label: int, seed: int = 42, pool: int = 60, train_frac: float = 2 / 3,
               folder: str = str(wordnet.WORDNET_DIR)) -> dict[str, list[str]]:
    """Disjoint ``train`` and ``test`` description pools of a class, and ``all`` (for OOD classes).

    The RNG is ``default_rng([seed, 98, label])``; train takes ``ceil(train_frac n)`` of the ``n``
    descriptions and test the rest (at least one each when ``n >= 2``; a class with a single
    description shares it, which the manifest's counts show).
    """
    if not 0 < train_frac < 1:
        raise ValueError(f"train_frac: expected a value in (0, 1), got {train_frac}")
    texts = describe(class_facts(wnid, folder), pool, np.random.default_rng([seed, 98, label]))
    k = min(int(np.ceil(train_frac * len(texts))), max(len(texts) - 1, 1))
    return {"train": texts[:k], "test": texts[k:] or texts[:k], "all": texts}
