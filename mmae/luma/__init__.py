"""From a local copy of LUMA to the feature bundle that :func:`mmae.data.load_bundle` reads.

LUMA (Bezirganyan et al., SIGIR 2025; code github.com/bezirganyan/LUMA, data on the Hugging Face
dataset ``bezirganyan/LUMA``) ships raw media, not features. This package follows LUMA's own
``compile_dataset.py`` (clean configuration: no noise, no label switching, no diversity sampling):

1. **Tables.** Audio: ``audio/datalist.csv`` (``path``, ``label``) and its WAV files; text:
   ``text_data.tsv`` (``text``, ``label``); images: ``image_data.pickle`` / ``image_data_test.pickle``
   (32x32 RGB, LUMA's format) or, when absent, built from CIFAR-10/100 and ``edm_images.pickle``
   exactly as LUMA's ``generate_cifar_50_data`` does.
2. **Splits.** LUMA's index files ``split_indices/{image,audio,text}_{train_clean,test}.txt``
   select 500 train / 100 test rows for each of the 42 in-distribution classes; every row of the 8
   other classes is OOD.
3. **Triplets.** Within each class, each modality's rows are shuffled with one seeded NumPy
   stream, in LUMA's order (class by class; audio, text, image; train, then test, then OOD), and
   row ``i`` of the three shuffled lists is triplet ``i`` -- so the modalities share their class
   and nothing else (``align_data`` / ``align_ood_data`` in LUMA's code).
4. **Features** (:mod:`mmae.luma.extract`): image 50-D (VGG11-BN fine-tuned on the labels -> logits,
   or label-free penultimate activations + PCA), audio 1024-D (wav2vec 2.0 large, mean over time),
   text 768-D (BERT, class word masked, mean over tokens or [CLS]); resumable, chunk by chunk.
5. **Bundle.** ``{split}_{modality}.npy``, ``{split}_labels.npy``, ``triplets.csv`` (the rows of
   every triplet) and ``manifest.json`` (models, versions, preprocessing, seeds, counts, sha256
   of each file); :func:`mmae.data.load_bundle` checks the hashes.

Command line: ``python -m mmae.luma download|extract|fixture --help``.

==============  ======================================================================
``rows``        LUMA's classes, tables and split files: :func:`read_luma`, :func:`make_triplets`
``config``      :class:`ExtractConfig`, the choices of an extraction
``extract``     the pretrained encoders (VGG11-BN, wav2vec 2.0, BERT) and chunked extraction
``bundle``      :func:`build_bundle` (resumable, with a manifest), :func:`manifest_table`
``fetch``       :func:`download`: the Hugging Face dataset, LUMA's split files, CIFAR-10/100
``fixture``     :func:`write_fixture`, a tiny LUMA copy for tests and the book
``__main__``    the command line
==============  ======================================================================

Importing this package imports neither torch nor the extractors (:mod:`mmae.luma.extract`). The
names below are re-exported from these modules; a constant is read where it is defined (to
change ``SPLIT_INDEX_URL`` or ``CIFAR_URLS`` for :func:`download`, set it on :mod:`mmae.luma.fetch`).
"""
from mmae.luma.bundle import BUNDLE_FORMAT, build_bundle, manifest_table
from mmae.luma.config import CHOICES, ExtractConfig
from mmae.luma.fetch import CIFAR_URLS, HF_DATASET, SPLIT_INDEX_URL, download
from mmae.luma.fixture import CIFAR10_NAMES, write_fixture
from mmae.luma.rows import (CIFAR_FILES, CIFAR_RENAME, CIFAR_RENAME_BACK, CLASS_ID, LUMA_CLASSES, N_ID,
                              image_tables, make_triplets, read_luma, split_counts, split_index_name)

__all__ = ["LUMA_CLASSES", "N_ID", "CLASS_ID", "CIFAR_RENAME", "CIFAR_RENAME_BACK", "CIFAR_FILES", "CIFAR10_NAMES",
           "HF_DATASET", "SPLIT_INDEX_URL", "CIFAR_URLS", "BUNDLE_FORMAT", "CHOICES", "ExtractConfig",
           "split_index_name", "image_tables", "read_luma", "make_triplets", "split_counts", "build_bundle",
           "manifest_table", "download", "write_fixture"]
