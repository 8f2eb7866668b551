"""Beyond the paper: the models compared, the questions asked of them, and the studies built on them.

===============  =====================================================================
``zoo``          the models compared (:data:`MODEL_LABELS`), trained once per seed and cached
``tuning``       each comparator's knob chosen on a validation slice of train
``chapters``     what chapters 07-14 start from: :class:`ZooParams`, declared once, and :func:`get_zoo`
``questions``    chapters 08-12: retrieval, subsets, cross-modal prediction, noise, tagging, OOD
``saved``        the per-seed tables saved on disk, keyed by the zoo they were computed from
``losses``       the zoo's training histories (chapter 07)
``sweeps``       papermill sweeps of the training notebook (chapter 13)
``information``  what each modality can tell about the class (chapter 01)
``robustness``   the headline questions on several data sets (chapter 15)
===============  =====================================================================
"""
from mmae.study.chapters import ZooParams, get_zoo, prepare
from mmae.study.losses import final_losses, loss_curves, weighting_effect
from mmae.study.questions import (cross_modal_table, headline, noise_table, ood_table, retrieval_table, subset_name,
                                  subset_table, subsets, tagging_table, top_k)
from mmae.study.sweeps import run_sweep, sweep_table
from mmae.study.saved import QUESTION_CHAPTERS, load_table, save_table
from mmae.study.tuning import tuned
from mmae.study.zoo import MODEL_LABELS, ImputedMMAE, Zoo, embed, load_or_train_zoo, variant_config, zoo_key

__all__ = ["ZooParams", "get_zoo", "MODEL_LABELS", "Zoo", "ImputedMMAE", "embed", "load_or_train_zoo", "prepare", "tuned",
           "variant_config", "zoo_key", "QUESTION_CHAPTERS", "load_table", "save_table", "retrieval_table",
           "subset_table", "cross_modal_table", "noise_table", "tagging_table", "ood_table", "headline", "subsets",
           "subset_name", "final_losses", "loss_curves", "weighting_effect", "run_sweep", "sweep_table", "top_k"]
