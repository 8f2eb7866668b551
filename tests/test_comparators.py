"""The comparators (MVAE, contrastive) against hand-computed cases, and stacked = unstacked."""
import math

import numpy as np
import pytest
import torch

from mmae.models import MVAE, ContrastiveEncoders, elbo, gaussian_kl, info_nce_loss, product_of_experts
from mmae.training.stacked import StackedMMAE, objective
from mmae.models import build_model
from mmae.training import TrainConfig, train_seeds

DIMS = {"image": 3, "text": 5}


def test_product_of_experts_by_hand():
    # experts N(1, 1) and N(3, 1) and the prior N(0, 1): precision 3, mean (1 + 3) / 3
    mu, logvar = torch.tensor([[1.0], [3.0]]), torch.zeros(2, 1)
    m, lv = product_of_experts(mu, logvar)
    assert m.item() == pytest.approx(4 / 3) and lv.item() == pytest.approx(-math.log(3))
    m, lv = product_of_experts(mu, logvar, torch.tensor([True, False]))  # the second expert absent
    assert m.item() == pytest.approx(0.5) and lv.item() == pytest.approx(-math.log(2))


def test_gaussian_kl_by_hand():
    assert gaussian_kl(torch.zeros(4), torch.zeros(4)).item() == 0.0
    # KL(N(1, e) || N(0, 1)) = 0.5 (1 + e - 1 - 1) per dimension
    assert gaussian_kl(torch.ones(2), torch.ones(2)).item() == pytest.approx(math.e - 1)


def test_info_nce_by_hand():
    h = {"a": torch.eye(2), "b": torch.eye(2)}  # logits = I / temperature
    expected = math.log(1 + math.exp(-1.0))      # -log(e / (e + 1)) at temperature 1
    assert info_nce_loss(h, temperature=1.0).item() == pytest.approx(expected)
    swapped = {"a": torch.eye(2), "b": torch.eye(2).flip(0)}  # positives are the far pair
    assert info_nce_loss(swapped, temperature=1.0).item() == pytest.approx(math.log(1 + math.e))


def test_encoders_take_any_subset():
    torch.manual_seed(0)
    x = {"image": torch.randn(4, 3), "text": torch.randn(4, 5)}
    for cls in (MVAE, ContrastiveEncoders):
        model = cls(DIMS, latent_dim=2, hidden=(4,)).eval()
        assert model.encode(x).shape == model.encode({"text": x["text"]}).shape == (4, 2)
        mask = {"image": torch.tensor([True, False, True, True]), "text": torch.ones(4, dtype=torch.bool)}
        torch.testing.assert_close(model.encode(x, mask)[1], model.encode({"text": x["text"]})[1])
    torch.testing.assert_close(ContrastiveEncoders(DIMS, 2, (4,)).encode_each(x)["image"].norm(dim=1).detach(), torch.ones(4))


@pytest.mark.parametrize("kind", ["mvae", "contrastive"])
def test_stacked_comparator_equals_each_model(kind):
    cfg = TrainConfig(model=kind, latent_dim=2, hidden=(4, 4))
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(build_model(cfg.model, DIMS, cfg.latent_dim, cfg.hidden, cfg.fusion))
    net = StackedMMAE(models).eval()
    x = {"image": torch.randn(2, 6, 3), "text": torch.randn(2, 6, 5)}  # (S, B, d)
    h = net.encode_each(x)                                               # (M, S, B, out)
    for s, model in enumerate(models):
        model.eval()
        for i, m in enumerate(DIMS):
            torch.testing.assert_close(h[i, s], model.encoders[m](x[m][s]), rtol=1e-5, atol=1e-6)
    back = net.unstack()
    assert type(back[0]) is type(models[0])
    for a, b in zip(models, back):
        for k, v in a.state_dict().items():
            assert k.endswith("num_batches_tracked") or torch.equal(v, b.state_dict()[k])


@pytest.mark.parametrize("kind", ["mvae", "mvae_cross"])
def test_mvae_objective_equals_unstacked_elbo(kind):
    """Wu & Goodman's ELBOs reconstruct what each posterior observed; the cross-modal variant, everything."""
    torch.manual_seed(0)
    model = MVAE(DIMS, latent_dim=2, hidden=(4, 4)).eval()
    x = {"image": torch.randn(1, 5, 3), "text": torch.randn(1, 5, 5)}
    loss, logs = objective(StackedMMAE([model]).eval(), x, kind)  # eval: z = posterior mean
    xs = {m: a[0] for m, a in x.items()}
    expected = 0.0
    for subset in (("image", "text"), ("image",), ("text",)):
        mu, logvar = model.posterior({m: xs[m] for m in subset})
        x_hat = model.decode(mu)
        targets = subset if kind == "mvae" else DIMS
        expected += sum(0.5 * (x_hat[m] - xs[m]).pow(2).sum(1).mean() for m in targets) + gaussian_kl(mu, logvar).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    readable = elbo(model, xs, cross_modal=kind == "mvae_cross")  # the single-model loss beside the model
    assert readable.item() == pytest.approx(expected.item(), rel=1e-6)
    assert loss.item() == pytest.approx(readable.item(), rel=1e-5)
    assert logs["loss_image"].item() == pytest.approx((model.decode(model.encode(xs))["image"] - xs["image"]).pow(2).mean().item(), rel=1e-5)


def test_objective_rejects_unknown_model():
    net = StackedMMAE([MVAE(DIMS, 2, (4,))])
    with pytest.raises(ValueError, match="model must be one of"):
        objective(net, {"image": torch.randn(1, 2, 3), "text": torch.randn(1, 2, 5)}, "vae")


def test_config_rejects_bad_model_and_reference_comparator():
    with pytest.raises(ValueError, match="TrainConfig.model must be one of"):
        TrainConfig(model="vae")
    with pytest.raises(ValueError, match="trains the MMAE only"):
        TrainConfig(model="mvae", engine="reference")


@pytest.mark.parametrize("kind", ["mvae", "contrastive"])
def test_comparators_learn_and_are_seeded(tiny_std, kind):
    cfg = TrainConfig(model=kind, latent_dim=4, hidden=(8, 8), epochs=4, batch_size=32, device="cpu")
    models, hist = train_seeds(tiny_std, cfg, [0, 1], progress=False)
    again, hist2 = train_seeds(tiny_std, cfg, [0, 1], progress=False)
    column = "infonce" if kind == "contrastive" else "loss"
    assert hist[0][column].iloc[-1] < hist[0][column].iloc[0]
    np.testing.assert_array_equal(hist[1][column], hist2[1][column])
    assert ("test_loss" in hist[0]) == (kind == "mvae")
