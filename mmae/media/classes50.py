"""The 50 classes of the LUMA-shaped real set: 42 in distribution, 8 out of distribution, and why.

LUMA has 50 classes, 42 in distribution (ID) and 8 out of distribution (OOD), taken from CIFAR-100:
broad everyday concepts (animals, vehicles, buildings and scenes, household objects, food,
people). The Tiny ImageNet subset beside the repository holds 66 such classes, one per
fine-grained group; each is a WordNet synset (its wnid). ``CLASSES`` keeps 50 of them: the ones
with a CIFAR-100 (LUMA) counterpart first, then everyday objects and animals, dropping the
16 in ``DROPPED`` (a second member of a group already kept, or a rare or niche concept).

The 8 OOD classes come one from each of 8 broad groups (amphibian, bird, sea animal, vessel,
building, object, food, scene) so that each OOD class has ID neighbours and OOD detection is not
a question of an unseen group alone.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Class:
    """One class: its WordNet synset id, the word spoken and masked, its group and why it is here."""

    wnid: str
    word: str
    group: str
    reason: str


_ = Class
CLASSES = (
    _("n01443537", "goldfish", "fish", "LUMA's aquarium fish"),
    _("n01698640", "alligator", "reptile", "LUMA's crocodile"),
    _("n01742172", "boa", "reptile", "LUMA's snake"),
    _("n01774750", "tarantula", "arachnid", "LUMA's spider"),
    _("n01855672", "goose", "bird", "a common bird"),
    _("n01882714", "koala", "mammal", "LUMA's possum (an arboreal marsupial)"),
    _("n01910747", "jellyfish", "sea animal", "a common sea animal"),
    _("n01944390", "snail", "mollusc", "LUMA's snail"),
    _("n01983481", "lobster", "crustacean", "LUMA's lobster"),
    _("n02099601", "retriever", "mammal", "LUMA's dog-like classes (one dog breed)"),
    _("n02129165", "lion", "mammal", "LUMA's lion"),
    _("n02132136", "bear", "mammal", "LUMA's bear"),
    _("n02165456", "ladybug", "insect", "LUMA's beetle"),
    _("n02206856", "bee", "insect", "LUMA's bee"),
    _("n02279972", "monarch", "insect", "LUMA's butterfly"),
    _("n02364673", "guinea pig", "mammal", "LUMA's hamster (a small pet rodent)"),
    _("n02395406", "hog", "mammal", "a farm animal"),
    _("n02403003", "ox", "mammal", "LUMA's cattle"),
    _("n02437312", "camel", "mammal", "LUMA's camel"),
    _("n02481823", "chimpanzee", "mammal", "LUMA's chimpanzee"),
    _("n02504458", "elephant", "mammal", "LUMA's elephant"),
    _("n04146614", "school bus", "vehicle", "LUMA's bus"),
    _("n02917067", "bullet train", "vehicle", "LUMA's train"),
    _("n04285008", "sports car", "vehicle", "a car"),
    _("n04465501", "tractor", "vehicle", "LUMA's tractor"),
    _("n04366367", "suspension bridge", "structure", "LUMA's bridge"),
    _("n02814860", "lighthouse", "structure", "a tower (LUMA's castle and skyscraper are buildings)"),
    _("n09193705", "alp", "scene", "LUMA's mountain"),
    _("n09428293", "seashore", "scene", "LUMA's sea"),
    _("n04099969", "rocking chair", "furniture", "LUMA's chair"),
    _("n03201208", "dining table", "furniture", "LUMA's table"),
    _("n03902125", "pay-phone", "object", "LUMA's telephone"),
    _("n04070727", "refrigerator", "object", "a household appliance (LUMA's wardrobe)"),
    _("n02948072", "candle", "object", "a household object (LUMA's lamp)"),
    _("n04398044", "teapot", "object", "LUMA's cup and bowl"),
    _("n02802426", "basketball", "object", "a ball"),
    _("n03085013", "keyboard", "object", "LUMA's keyboard"),
    _("n02769748", "backpack", "object", "a bag"),
    _("n07753592", "banana", "food", "a fruit (LUMA's apple and pear)"),
    _("n07734744", "mushroom", "food", "LUMA's mushroom"),
    _("n07747607", "orange", "food", "LUMA's orange"),
    _("n10148035", "groom", "person", "LUMA's man (the one person class)"),
    # --- out of distribution: one per broad group, each with ID neighbours
    _("n01641577", "bullfrog", "amphibian", "OOD: an animal group with no ID class"),
    _("n02056570", "penguin", "bird", "OOD: a bird beside the ID goose"),
    _("n09256479", "coral reef", "scene", "OOD: a scene beside the ID seashore and alp"),
    _("n03662601", "lifeboat", "vessel", "OOD: a vessel; the ID set has land vehicles only"),
    _("n02793495", "barn", "building", "OOD: a building beside the ID lighthouse and bridge"),
    _("n04507155", "umbrella", "object", "OOD: an object beside the ID household objects"),
    _("n07873807", "pizza", "food", "OOD: a dish beside the ID fruit"),
    _("n02509815", "red panda", "mammal", "OOD: a mammal beside the ID bear and koala"),
)
N_ID = 42
ID_CLASSES, OOD_CLASSES = CLASSES[:N_ID], CLASSES[N_ID:]
WORDS = tuple(c.word for c in CLASSES)  # label order: ID classes 0..41, then OOD 42..49

DROPPED = {
    "n03444034": "go-kart: a second small car beside the sports car",
    "n03796401": "moving van: a second road vehicle beside the school bus",
    "n03447447": "gondola: a second boat beside the lifeboat",
    "n09332890": "lakeside: a second shore beside the seashore",
    "n04562935": "water tower: a second tower beside the lighthouse",
    "n03837869": "obelisk: a niche monument",
    "n04259630": "sombrero: a niche hat",
    "n02950826": "cannon: a niche weapon",
    "n02074367": "dugong: a rare animal (LUMA's animals are common)",
    "n04328186": "stopwatch: a niche object (the pay-phone stands for devices)",
    "n03637318": "lampshade: a part of an object, not a thing in itself",
    "n12267677": "acorn: a second tree fruit beside the orange",
    "n01770393": "scorpion: a second arachnid beside the tarantula",
    "n03388043": "fountain: a second water structure, and a thin WordNet entry",
    "n02123045": "tabby cat: a second feline beside the lion (CIFAR-100 has no cat)",
    "n04399382": "teddy bear: a toy named after the ID bear (its texts would name another class)",
}
