"""mmae.report.findings: sentences computed from tables; the same recap on other outcomes says other things."""
import pandas as pd
import pytest

from mmae.report import findings


def long_table(values: dict[str, list[float]], metric: str = "map") -> pd.DataFrame:
    return pd.DataFrame([{"model": m, "seed": s, "metric": metric, "value": v}
                         for m, vs in values.items() for s, v in enumerate(vs)])


def test_verdict():
    assert findings.verdict([0.5, 0.7], [0.1, 0.1]) == "above"
    assert findings.verdict([0.1, 0.1], [0.5, 0.7]) == "below"
    assert findings.verdict([0.5, 0.7], [0.55, 0.65]) == "within the spread of"
    assert findings.verdict(0.3, 0.3) == "within the spread of" and findings.verdict(0.31, 0.3) == "above"


def test_ranking_follows_the_numbers():
    mmae_wins = long_table({"mmae": [0.8, 0.82], "contrastive": [0.5, 0.52], "fusion_pca": [0.3, 0.3]})
    mmae_loses = long_table({"mmae": [0.2, 0.22], "contrastive": [0.9, 0.92], "fusion_pca": [0.3, 0.3]})
    a = findings.ranking(mmae_wins, "map", "data A", "retrieval mAP", chance=0.125)
    b = findings.ranking(mmae_loses, "map", "data B", "retrieval mAP")
    assert a == ("On data A, the best retrieval mAP is the MMAE's (0.810); the MMAE is above the fusion PCA "
                 "baseline (0.300); chance is about 0.125.")
    assert b == ("On data B, the best retrieval mAP is the contrastive (InfoNCE)'s (0.910); the MMAE's (0.210) is "
                 "below it; the MMAE is below the fusion PCA baseline (0.300).")
    assert findings.ranking(mmae_wins.iloc[:0], "map", "C", "x") == "On C, no model answers this question."


def test_summary_checks_the_papers_orderings():
    reported = pd.DataFrame({"method": ["PCA image", "PCA text", "PCA audio", "fusion PCA", "MMAE"],
                             "ari": [0.545, 0.091, 0.053, 0.545, 0.914]})
    holds = reported.assign(ari=[0.5, 0.2, 0.1, 0.4, 0.7])
    fails = reported.assign(ari=[0.5, 0.1, 0.9, 0.4, 0.3])
    a, b = findings.summary(holds, reported, "A", 8), findings.summary(fails, reported, "B", 8)
    assert "the MMAE (0.700) is above the best linear baseline (PCA image, 0.500)" in a
    assert "here image > text > audio; in the paper image > text > audio: the same order" in a
    assert "the MMAE (0.300) is below the best linear baseline (PCA audio, 0.900)" in b
    assert "here audio > image > text; in the paper image > text > audio: a different order" in b


def test_reconstruction_fused_vs_each_weakest_link_and_leaders():
    history = pd.DataFrame({"epoch": [1, 2], "test_loss_image": [0.5, 0.2], "test_loss_audio": [1.0, 0.95]})
    assert findings.reconstruction(history, "D") == (
        "On D, after 2 epochs the MMAE reconstructs **image** best (test MSE 0.200) and **audio** worst "
        "(0.950). Near the mean (MSE >= 0.9 of standardised features): **audio**.")
    per = pd.DataFrame({"k": [8, 8, 8, 9], "latent": ["fused z", "E_image(x_image)", "E_audio(x_audio)", "fused z"],
                        "ari": [0.6, 0.4, 0.1, 0.9]})
    assert findings.fused_vs_each(per, 8, "D") == (
        "On D at k = 8, K-Means on the fused latent reaches ARI 0.600, above the best single modality's own "
        "encoding (E_image(x_image), 0.400); the weakest encoding is E_audio(x_audio) (0.100).")
    noise = pd.DataFrame({"model": "mmae", "seed": 0, "metric": "ari", "modality": ["image", "audio", "image"],
                          "sigma": [2.0, 2.0, 0.0], "value": [0.1, 0.5, 0.9]})
    assert findings.weakest_link(noise, "ari", "modality", "D", sigma=2.0) == (
        "On D, the MMAE's ari is lowest with modality **image** (0.100) and highest with **audio** (0.500).")
    card = pd.DataFrame({"MMAE": ["0.500 ± 0.010", "n/a"], "contrastive (InfoNCE)": ["0.900 ± 0.001", "n/a"]},
                        index=["retrieval mAP", "skill"])
    assert findings.scorecard_leaders(card, "D") == (
        "On D, the highest mean per question:\n- retrieval mAP: **contrastive (InfoNCE)** (0.900; MMAE 0.500)")


@pytest.mark.parametrize("a, b", [([0.5], [0.5]), (0.1, [0.1, 0.1])])
def test_verdict_equal_means_are_within(a, b):
    assert findings.verdict(a, b) == "within the spread of"


def test_equal_or_nan_scores_read_as_no_signal():
    """A meaningless score is never called a win: ties and NaNs say 'no signal'."""
    nan = float("nan")
    assert findings.verdict([nan, 0.5], [0.1]) == findings.verdict(0.5, nan) == "not comparable (no signal)"
    tie = long_table({"mmae": [0.0, 0.0], "contrastive": [0.0, 0.0]}, "ari")
    assert findings.ranking(tie, "ari", "E", "K-Means ARI") == (
        "On E, no model stands out on K-Means ARI (MMAE 0.000, contrastive (InfoNCE) 0.000): no signal to rank them.")
    reported = pd.DataFrame({"method": ["PCA image", "PCA text", "fusion PCA", "MMAE"], "ari": [0.5, 0.1, 0.5, 0.9]})
    flat = reported.assign(ari=[0.0, 0.0, 0.0, 0.0])
    assert findings.summary(flat, reported, "E", 42) == (
        "- On E, no linear baseline stands out (ARI at k = 42: PCA image 0.000, PCA text 0.000, fusion PCA 0.000, "
        "MMAE 0.000): no signal to compare the MMAE with.")
    per = pd.DataFrame({"k": [8, 8, 8], "latent": ["fused z", "E_image(x_image)", "E_audio(x_audio)"],
                        "ari": [0.0, 0.0, 0.0]})
    assert findings.fused_vs_each(per, 8, "E").endswith("give no single best one to compare it with: no signal.")
    noise = pd.DataFrame({"model": "mmae", "seed": 0, "metric": "ari", "modality": ["image", "audio"], "value": [0.2, 0.2]})
    assert findings.weakest_link(noise, "ari", "modality", "E") == (
        "On E, the MMAE's ari does not single out one modality (image 0.200, audio 0.200): no signal.")
    card = pd.DataFrame({"MMAE": ["0.000 ± 0.000"], "fusion PCA (baseline)": ["0.000 ± 0.000"]}, index=["ARI"])
    assert findings.scorecard_leaders(card, "E").endswith("- ARI: no single highest mean (0.000 shared; MMAE 0.000): no signal")
