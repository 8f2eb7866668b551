"""Several seeds trained together (torch.func over the model's own code) against each seed alone.

Tolerance: train losses agree to rtol 1e-5 over several epochs (only float reassociation
differs: batched matmuls against single ones), and so do all weights except the biases that
feed a BatchNorm (and the encoders' last biases, cancelled by the decoders' first BatchNorm):
their true gradient is zero, what is left is float noise that Adam rescales to lr-sized steps,
so they drift differently in any two implementations. They shift test losses (which use
BatchNorm's running means) by < 1e-2 relative.
"""

import numpy as np
import pytest
import torch

from mmae.models import MMAE, MODELS
from mmae.training import evolve, make_config, train, train_seeds

CFG = make_config(latent_dim=4, hidden=(8, 8), epochs=4, batch_size=32, seed=3, device="cpu")
TRAIN_COLS = ["loss", "loss_image", "loss_audio", "loss_text"]
TEST_COLS = ["test_loss", "test_loss_image", "test_loss_audio", "test_loss_text"]


def null_space_bias(name: str) -> bool:
    """Biases of a Linear followed by BatchNorm (index 0, 3) or ending an encoder (index 6)."""
    part, _, index, kind = name.split(".")
    return kind == "bias" and (index in ("0", "3") or (part == "encoders" and index == "6"))


@pytest.mark.parametrize("extra", [{}, {"model": "mvae"}, {"modality_dropout": 0.5}, {"fusion": "max"},
                                   {"fusion": "max", "modality_dropout": 0.5, "align": 0.1}])
def test_each_seed_trained_together_matches_its_own_run(tiny_std, extra, one_thread):
    """The models draw their noise (MVAE samples, modality dropout) from generators of their own
    seeds, so a seed trained with others follows its run alone, noise included."""
    cfg = evolve(CFG, **extra)
    seeds = [3, 11, 12]
    models, histories = train_seeds(tiny_std, cfg, seeds, progress=False)
    assert len(models) == len(histories) == 3 and all(not m.training for m in models)
    for seed, model, history in zip(seeds, models, histories):
        alone_model, alone = train(tiny_std, evolve(cfg, seed=seed), progress=False)
        np.testing.assert_allclose(history[TRAIN_COLS], alone[TRAIN_COLS], rtol=1e-5)
        np.testing.assert_allclose(history[TEST_COLS], alone[TEST_COLS], rtol=1e-2)
        ref, got = alone_model.state_dict(), model.state_dict()
        for name in ref:
            if not (null_space_bias(name) or "running" in name):
                torch.testing.assert_close(got[name], ref[name], rtol=1e-4, atol=1e-5, msg=name)
    assert not np.allclose(histories[0].loss, histories[1].loss)  # the models really differ


def test_one_seed_is_the_plain_loop_on_the_module_itself(tiny_std, one_thread):
    """One seed: Adam(fused) on the model's own parameters, the model's own loss, batch by batch."""
    torch.manual_seed(CFG.optim.seed)
    model = MMAE(tiny_std.dims, CFG.latent_dim, CFG.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=CFG.optim.lr, fused=True)
    x = {m: torch.as_tensor(a) for m, a in tiny_std.x["train"].items()}
    order, n, first = torch.Generator().manual_seed(CFG.optim.seed), len(tiny_std.y["train"]), []
    perm = torch.randperm(n, generator=order)
    for i in range(0, n, CFG.optim.batch_size):
        xb = {m: a[perm[i:i + CFG.optim.batch_size]] for m, a in x.items()}
        loss, parts = MODELS["mmae"].loss(model, xb)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        first.append(parts["loss"].item() * len(xb["image"]))
    _, history = train(tiny_std, evolve(CFG, epochs=1), progress=False)
    assert history.loss.iloc[0] == pytest.approx(sum(first) / n, rel=1e-6)


def test_loss_weights_are_applied(tiny_std):
    weighted = evolve(CFG, loss_weights={"audio": 0.1})
    _, alone = train(tiny_std, weighted, progress=False)
    _, together = train_seeds(tiny_std, weighted, [CFG.optim.seed, 0], progress=False)
    _, plain = train(tiny_std, CFG, progress=False)
    np.testing.assert_allclose(together[0][TRAIN_COLS], alone[TRAIN_COLS], rtol=1e-5)
    assert not np.allclose(alone.loss_audio, plain.loss_audio)


def test_invalid_seeds(tiny_std):
    with pytest.raises(ValueError, match=r"seeds must hold at least one seed, got \[\]"):
        train_seeds(tiny_std, CFG, [])
    with pytest.raises(TypeError, match="unknown parameter 'engine'"):
        make_config(engine="stacked")  # one trainer: the engine is gone


def test_alignment_penalty_is_eq1_by_hand():
    """align * sum_m ||E_m(x_m) - z||^2 (mean over rows) added to Eq. (3), z the mean encoding."""
    torch.manual_seed(0)
    model = MMAE({"image": 3, "text": 5}, latent_dim=2, hidden=(4, 4)).eval()
    xs = {"image": torch.randn(6, 3), "text": torch.randn(6, 5)}
    plain, parts = MODELS["mmae"].loss(model, xs)
    assert "align" not in parts
    loss, logs = MODELS["mmae"].loss(model, xs, align=0.5)
    h = model.encode_each(xs)
    z = (h["image"] + h["text"]) / 2
    penalty = sum((h[m] - z).pow(2).sum(1).mean() for m in h)
    assert logs["align"].item() == pytest.approx(penalty.item(), rel=1e-5)
    assert loss.item() == pytest.approx(plain.item() + 0.5 * penalty.item(), rel=1e-5)


def test_modality_dropout_keeps_the_largest_draw_and_only_with_noise():
    from mmae.models import mmae

    torch.manual_seed(0)
    model = MMAE({"image": 3, "text": 5}, latent_dim=2, hidden=(4, 4)).eval()
    xs = {"image": torch.randn(6, 3), "text": torch.randn(6, 5)}
    assert mmae.noise(model, 6, torch.Generator()) is None  # dropout off: nothing drawn
    u = mmae.noise(model, 6, torch.Generator().manual_seed(1), modality_dropout=0.5)
    assert u.shape == (2, 6)
    full = MODELS["mmae"].loss(model, xs)[0]
    assert MODELS["mmae"].loss(model, xs, torch.zeros(2, 6), modality_dropout=0.5)[0].item() == pytest.approx(full.item())
    only_text = torch.tensor([[0.1] * 6, [0.2] * 6])  # every draw below 0.5: the largest (text) stays alone
    h = model.encode_each(xs)
    x_hat = model.decode(h["text"])
    expected = sum(torch.nn.functional.mse_loss(x_hat[m], xs[m]) for m in xs)
    assert MODELS["mmae"].loss(model, xs, only_text, modality_dropout=0.5)[0].item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("field, value, message", [
    ("modality_dropout", 1.0, r"MMAEKnobs.modality_dropout must be a number in \[0, 1\), got 1.0"),
    ("align", -1.0, r"align must be a finite number >= 0, got -1.0"),
    ("align", float("inf"), r"align must be a finite number >= 0, got inf"),
])
def test_dropout_and_align_validation(field, value, message):
    with pytest.raises(ValueError, match=message):
        evolve(CFG, **{field: value})


def test_variants_train_through_the_engine(tiny_std, one_thread):
    for extra in ({"modality_dropout": 0.5}, {"align": 0.1}):
        models, hist = train_seeds(tiny_std, evolve(CFG, epochs=2, **extra), [0, 1], progress=False)
        assert len(models) == 2 and np.isfinite(hist[0]["loss"]).all()
        assert ("align" in hist[0]) == ("align" in extra)


@pytest.mark.parametrize("model, field, grid", [
    ("contrastive", "temperature", [0.05, 0.5]),
    ("mmae", "align", [0.01, 1.0]),
    ("mvae", "beta", [0.1, 1.0]),
])
def test_a_grid_trained_as_replicas_equals_each_value_trained_alone(tiny_std, model, field, grid, one_thread):
    cfg = evolve(CFG, model=model, epochs=2, **({"align": 0.1} if field == "align" else {}))
    together, hist = train_seeds(tiny_std, evolve(cfg, **{field: grid[0]}), [3, 3], progress=False,
                                 values={field: grid})
    col = "infonce" if model == "contrastive" else "loss"
    for value, h in zip(grid, hist):
        _, alone = train_seeds(tiny_std, evolve(cfg, **{field: value}), [3], progress=False)
        np.testing.assert_allclose(h[col], alone[0][col], rtol=1e-5)
    assert not np.allclose(hist[0][col], hist[1][col])  # each replica trained with its own value


def test_per_replica_values_are_checked(tiny_std):
    with pytest.raises(ValueError, match=r"values\['temperature'\] must hold one value per model \(2\), got \[0.1\]"):
        train_seeds(tiny_std, evolve(CFG, model="contrastive"), [0, 1], progress=False,
                    values={"temperature": [0.1]})
    with pytest.raises(ValueError, match=r"values: 'lr' cannot differ between the models of one mmae run; expected any of \('modality_dropout', 'align'\)"):
        train_seeds(tiny_std, CFG, [0, 1], progress=False, values={"lr": [0.1, 0.2]})
    with pytest.raises(ValueError, match="temperature"):
        train_seeds(tiny_std, evolve(CFG, model="contrastive"), [0, 1], progress=False,
                    values={"temperature": [0.1, -1.0]})
    with pytest.raises(ValueError, match="values with a resume_path need a key"):
        train_seeds(tiny_std, CFG, [0, 1], progress=False, values={"beta": [0.1, 0.2]}, resume_path="x.pt")


@pytest.mark.parametrize("model, lr, advice", [
    ("mmae", 1e10, r"Try a lower lr \(now 1e\+10\)\."),
    ("mvae", 1e10, r"Try a lower lr \(now 1e\+10\) or a lower beta \(now 1\)\."),
    ("contrastive", 1e20, r"Try a lower lr \(now 1e\+20\) or a higher temperature \(now 0\.1;"),
])
def test_divergence_names_the_replica_and_what_to_lower(tiny_std, model, lr, advice, one_thread):
    cfg = evolve(CFG, model=model, lr=lr)
    with pytest.raises(FloatingPointError, match=rf"{model} training loss is (nan|inf) at epoch 1, batch \d of 6 "
                                                 rf"\(replica 1 of 2, seed 5\): training stopped and nothing is "
                                                 rf"saved\. {advice}"):
        train_seeds(tiny_std, cfg, [5, 6], progress=False)


def test_non_finite_weights_are_caught_at_the_end(tiny_std, monkeypatch, one_thread):
    """A last step that breaks the weights leaves every loss finite: the end-of-training check sees it."""
    real_step = torch.optim.Adam.step

    def step(self, *args, **kwargs):
        out = real_step(self, *args, **kwargs)
        with torch.no_grad():
            self.param_groups[0]["params"][0].fill_(float("inf"))
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    with pytest.raises(FloatingPointError, match=r"weights are not finite after epoch 1 \(") as raised:
        train_seeds(tiny_std, evolve(CFG, epochs=1, batch_size=1000), [0], progress=False)
    assert "Try a lower lr" in str(raised.value)


@pytest.mark.slow
def test_the_compiled_step_trains_as_the_eager_one(tiny_std):
    """torch.compile of the training step (CUDA graphs on a GPU; inductor on this CPU) follows the
    eager trajectory, the last partial batch included (168 rows, batch 32: a last batch of 8), to
    the tolerances of the seeds-together-against-alone tests above: train losses to 1e-5, weights to
    1e-4, test losses to 1 % (the biases that feed a batch norm drift in any two implementations)."""
    cfg = make_config(latent_dim=4, hidden=(8, 8), epochs=2, batch_size=32, device="cpu")
    eager, h_eager = train_seeds(tiny_std, cfg, [0, 1], False)
    fast, h_fast = train_seeds(tiny_std, evolve(cfg, compile=True), [0, 1], False)
    for a, b in zip(h_eager, h_fast):
        np.testing.assert_allclose(b["loss"], a["loss"], rtol=1e-5)
        np.testing.assert_allclose(b["test_loss"], a["test_loss"], rtol=1e-2)
    for a, b in zip(eager, fast):
        for (name, p), q in zip(a.named_parameters(), b.parameters()):
            if name.endswith("weight"):
                np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), atol=1e-4, err_msg=name)
    with pytest.raises(TypeError, match="Runtime.compile must be True or False, got int 1"):
        make_config(compile=1)
