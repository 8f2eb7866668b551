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

==========  ==========================================================================
``image``   :class:`VGG11BN`, :func:`replace_head`, :func:`image_batch`, :func:`finetune_vgg`,
            :func:`image_features`
``audio``   :func:`read_audio`, :func:`audio_features`
``text``    :func:`mask_class_word`, :func:`text_features`
``models``  :func:`load_pretrained`, :func:`tiny_models`, :func:`model_fingerprint`
``chunks``  :func:`run_in_chunks` (resumable extraction, one task of :func:`mmae.cluster.run` per chunk)
``tasks``   :class:`ModelSource`, :class:`Extractor`, :func:`extract_chunk` (what a chunk task computes)
==========  ==========================================================================

The names below are re-exported from these modules; a function reads the names of its own module
(to replace ``VGG11BN`` for :func:`load_pretrained`, set it on :mod:`mmae.luma.extract.models`).
"""
from mmae.luma.extract.audio import audio_features, read_audio
from mmae.luma.extract.chunks import run_in_chunks
from mmae.luma.extract.image import (IMAGENET_MEAN, IMAGENET_STD, VGG11BN, finetune_vgg, image_batch,
                                     image_features, replace_head)
from mmae.luma.extract.models import (AUDIO_MODEL_ID, IMAGE_WEIGHTS_URL, KINDS, TEXT_MODEL_ID, load_pretrained,
                                      model_fingerprint, tiny_models)
from mmae.luma.extract.tasks import Extractor, ModelSource, extract_chunk
from mmae.luma.extract.text import mask_class_word, text_features

__all__ = ["IMAGE_WEIGHTS_URL", "AUDIO_MODEL_ID", "TEXT_MODEL_ID", "IMAGENET_MEAN", "IMAGENET_STD", "KINDS",
           "VGG11BN", "replace_head", "image_batch", "finetune_vgg", "image_features", "read_audio",
           "audio_features", "mask_class_word", "text_features", "run_in_chunks", "model_fingerprint",
           "load_pretrained", "tiny_models", "ModelSource", "Extractor", "extract_chunk"]
