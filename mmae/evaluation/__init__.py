"""Evaluating representations: every function takes arrays and labels and returns numbers
(``*_score`` higher-is-better), validated at the boundary.

==============  ====================================================================
``clustering``  K-Means scored by Silhouette, ARI, NMI, matched accuracy (the paper, Sec. IV-E)
``retrieval``   cross-modal retrieval: mAP, precision@k, recall@k
``probe``       a linear probe (scikit-learn's logistic regression objective, LBFGS)
``tagging``     k-NN tag suggestion and top-k accuracy
``ood``         OOD detection by the distance to class centroids (AUROC)
``prediction``  the skill of a cross-modal prediction against the train mean
``batched``     the batched engine: K-Means and linear probes of many problems at once, on a device
``neighbours``  the batched engine's retrieval and k-NN tags (batched matmuls, sorts, top-k)
==============  ====================================================================
"""
from mmae.evaluation.checks import METRICS
from mmae.evaluation.clustering import (K_GRID, N_INIT, cluster_scores, clustering_accuracy_score, kmeans_grid,
                                        knn_agreement)
from mmae.evaluation.ood import ood_auroc_score
from mmae.evaluation.prediction import prediction_skill_score
from mmae.evaluation.probe import PROBE_TOL, fit_linear_probe, linear_probe_score
from mmae.evaluation.retrieval import average_precision, retrieval_scores
from mmae.evaluation.tagging import knn_tag_scores, top_k_accuracy

__all__ = ["METRICS", "K_GRID", "N_INIT", "PROBE_TOL", "cluster_scores", "clustering_accuracy_score", "kmeans_grid",
           "knn_agreement", "ood_auroc_score", "prediction_skill_score", "fit_linear_probe", "linear_probe_score",
           "average_precision", "retrieval_scores", "knn_tag_scores", "top_k_accuracy"]
