import pytest
import torch

from mmae.models import MMAE, mlp, reconstruction_loss

DIMS = {"image": 5, "audio": 7, "text": 6}


def batch(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {m: torch.randn(n, d, generator=g) for m, d in DIMS.items()}


def test_mlp_layers():
    net = mlp(50, (128, 128), 128)
    kinds = [type(layer).__name__ for layer in net]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU"] * 2 + ["Linear"]
    assert [net[i].out_features for i in (0, 3, 6)] == [128, 128, 128]


def test_paper_shapes_and_parameter_count():
    model = MMAE({"image": 50, "audio": 1024, "text": 768})
    x = {m: torch.randn(3, d) for m, d in model.dims.items()}
    z, x_hat = model(x)
    assert z.shape == (3, 128) and {m: t.shape for m, t in x_hat.items()} == {m: (3, d) for m, d in model.dims.items()}
    per_encoder = lambda d: (d * 128 + 128) + 2 * 128 + (128 * 128 + 128) + 2 * 128 + (128 * 128 + 128)
    per_decoder = lambda d: (128 * 128 + 128) + 2 * 128 + (128 * 128 + 128) + 2 * 128 + (128 * d + d)
    expected = sum(per_encoder(d) + per_decoder(d) for d in (50, 1024, 768))
    assert sum(p.numel() for p in model.parameters()) == expected


def test_mean_and_max_fusion_and_subsets():
    torch.manual_seed(0)
    model = MMAE(DIMS, latent_dim=3).eval()
    x = batch()
    h = model.encode_each(x)
    torch.testing.assert_close(model.encode(x), (h["image"] + h["audio"] + h["text"]) / 3)
    torch.testing.assert_close(model.encode({"audio": x["audio"]}), h["audio"])
    model.fusion = "max"
    torch.testing.assert_close(model.encode(x), torch.maximum(torch.maximum(h["image"], h["audio"]), h["text"]))


def test_fusion_of_the_rows_present_only():
    """What modality dropout trains with: ``present`` (M, n) leaves a modality out of a row's z."""
    torch.manual_seed(0)
    model = MMAE(DIMS, latent_dim=3).eval()
    x = batch()
    present = torch.tensor([[1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1]], dtype=torch.bool)  # image, audio, text
    h = model.encode_each(x)
    z = model.fuse(h, present)
    torch.testing.assert_close(z[1], h["image"][1])
    torch.testing.assert_close(z[2], h["audio"][2])
    torch.testing.assert_close(z[0], (h["image"][0] + h["audio"][0] + h["text"][0]) / 3)
    model.fusion = "max"
    torch.testing.assert_close(model.fuse(h, present)[3], h["text"][3])
    torch.testing.assert_close(model.fuse(h, present)[0], torch.maximum(torch.maximum(h["image"][0], h["audio"][0]), h["text"][0]))


def test_invalid_arguments():
    with pytest.raises(ValueError, match=r"fusion must be one of \('mean', 'max'\), got 'sum'"):
        MMAE(DIMS, fusion="sum")
    with pytest.raises(ValueError, match="latent_dim must be a positive int, got 0"):
        MMAE(DIMS, latent_dim=0)


def test_loss_is_eq3_sum_of_mses():
    x = {"image": torch.zeros(2, 2), "audio": torch.zeros(2, 4)}
    x_hat = {"image": torch.tensor([[1.0, 1.0], [1.0, 1.0]]), "audio": torch.tensor([[2.0, 0, 0, 0], [0, 0, 0, 0]])}
    total, per = reconstruction_loss(x, x_hat)
    assert per["image"].item() == 1.0 and per["audio"].item() == 0.5
    assert total.item() == 1.5
    weighted, _ = reconstruction_loss(x, x_hat, {"audio": 2.0})
    assert weighted.item() == 2.0
