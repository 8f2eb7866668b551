"""The comparators (MVAE, contrastive) against hand-computed cases, and an ensemble = its models."""
import math

import numpy as np
import pytest
import torch

from mmae.models import (MODELS, MVAE, ContrastiveEncoders, build_model, gaussian_kl, info_nce_loss, mvae,
                         product_of_experts)
from mmae.training import TrainConfig, make_config, train_seeds
from mmae.training.ensemble import Ensemble

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
        assert not torch.allclose(model.encode(x), model.encode({"text": x["text"]}))
    torch.testing.assert_close(ContrastiveEncoders(DIMS, 2, (4,)).encode_each(x)["image"].norm(dim=1).detach(), torch.ones(4))


@pytest.mark.parametrize("kind", ["mmae", "mvae", "contrastive"])
def test_an_ensemble_computes_what_each_model_does(kind):
    """torch.func over the model's own code: replica s's encoding and loss are models[s]'s."""
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(build_model(kind, DIMS, 2, (4, 4)).eval())
    net = Ensemble(models).eval()
    x = {"image": torch.randn(2, 6, 3), "text": torch.randn(2, 6, 5)}  # (S, B, d)
    z = net.map(lambda model, xx: model.encode(xx), x, in_dims=(0,))
    total, parts = net.map(lambda model, xx: MODELS[kind].loss(model, xx), x, in_dims=(0,))
    for s, model in enumerate(models):
        xs = {m: a[s] for m, a in x.items()}
        torch.testing.assert_close(z[s], model.encode(xs), rtol=1e-5, atol=1e-6)
        alone, alone_parts = MODELS[kind].loss(model, xs)
        torch.testing.assert_close(total[s], alone, rtol=1e-5, atol=1e-6)
        assert parts.keys() == alone_parts.keys()


def test_an_ensemble_unstacks_into_the_models_it_was_built_from():
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(MVAE(DIMS, 2, (4, 4)))
    net = Ensemble(models)
    with torch.no_grad():
        next(net.parameters()).add_(1.0)  # replica 0 and 1 of the first weight both move
    fresh = [MVAE(DIMS, 2, (4, 4)) for _ in models]
    back = net.unstack(fresh)
    first = next(iter(models[0].state_dict()))
    for a, b in zip(models, back):
        for k, v in a.state_dict().items():
            assert torch.equal(b.state_dict()[k], v + 1.0 if k == first else v), k
    with pytest.raises(ValueError, match="Ensemble needs at least one model, got none"):
        Ensemble([])


@pytest.mark.parametrize("kind", ["mvae", "mvae_cross"])
def test_mvae_loss_is_wu_and_goodmans_elbo_by_hand(kind):
    """Wu & Goodman's ELBOs reconstruct what each posterior observed; the cross-modal variant, everything."""
    torch.manual_seed(0)
    model = MVAE(DIMS, latent_dim=2, hidden=(4, 4)).eval()  # eval: BatchNorm's running stats, z = posterior mean
    xs = {"image": torch.randn(5, 3), "text": torch.randn(5, 5)}
    loss, logs = MODELS[kind].loss(model, xs)
    expected = 0.0
    for subset in (("image", "text"), ("image",), ("text",)):
        mu, logvar = model.posterior({m: xs[m] for m in subset})
        x_hat = model.decode(mu)
        targets = subset if kind == "mvae" else DIMS
        expected += sum(0.5 * (x_hat[m] - xs[m]).pow(2).sum(1).mean() for m in targets) + gaussian_kl(mu, logvar).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert logs["loss_image"].item() == pytest.approx((model.decode(model.encode(xs))["image"] - xs["image"]).pow(2).mean().item(), rel=1e-5)
    mu, logvar = model.posterior(xs)
    assert logs["kl"].item() == pytest.approx(gaussian_kl(mu, logvar).mean().item(), rel=1e-5)
    zero = torch.zeros(3, 5, 2)  # eps = 0: the samples are the posterior means
    assert MODELS[kind].loss(model, xs, zero)[0].item() == pytest.approx(loss.item(), rel=1e-6)
    eps = mvae.noise(model, 5, torch.Generator().manual_seed(0))
    assert eps.shape == (3, 5, 2) and MODELS[kind].loss(model, xs, eps)[0].item() != pytest.approx(loss.item())


def test_the_contrastive_loss_draws_nothing_and_logs_infonce():
    model = ContrastiveEncoders(DIMS, 2, (4,))
    xs = {"image": torch.randn(4, 3), "text": torch.randn(4, 5)}
    assert MODELS["contrastive"].noise(model, 4, torch.Generator()) is None
    total, parts = MODELS["contrastive"].loss(model, xs, temperature=0.5)
    assert parts == {"infonce": total}
    assert total.item() == pytest.approx(info_nce_loss(model.encode_each(xs), 0.5).item())


def test_unknown_models_are_refused():
    with pytest.raises(ValueError, match="TrainConfig.model must be one of"):
        TrainConfig(model="vae")
    with pytest.raises(ValueError, match=r"model must be one of \('mmae', 'mvae', 'mvae_cross', 'contrastive'\), got 'vae'"):
        build_model("vae", DIMS)


@pytest.mark.parametrize("kind", ["mvae", "contrastive"])
def test_comparators_learn_and_are_seeded(tiny_std, kind):
    cfg = make_config(model=kind, latent_dim=4, hidden=(8, 8), epochs=4, batch_size=32, device="cpu")
    models, hist = train_seeds(tiny_std, cfg, [0, 1], progress=False)
    again, hist2 = train_seeds(tiny_std, cfg, [0, 1], progress=False)
    column = "infonce" if kind == "contrastive" else "loss"
    assert hist[0][column].iloc[-1] < hist[0][column].iloc[0]
    np.testing.assert_array_equal(hist[1][column], hist2[1][column])
    assert ("test_loss" in hist[0]) == (kind == "mvae")  # the contrastive loss has no reconstruction to test
