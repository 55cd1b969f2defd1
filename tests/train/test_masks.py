"""Masked loss: masks from alpha or NAME.mask.png on the latent grid; a masked-out half contributes
nothing to the gradient; the health check reports masks and wrong-size masks."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from loratui.train.data import ImageItem
from loratui.train.masks import MaskError, load_mask


def _item(path, size=(64, 48)):
    from loratui.dataset.training_images import find_mask

    return ImageItem(0, str(path), 0, ["x"], size, bucket=size, resized=size, mask=find_mask(str(path)))


def test_alpha_channel_and_mask_file_on_the_latent_grid(tmp_path):
    im = Image.new("RGBA", (64, 48), (255, 0, 0, 255))
    im.paste((255, 0, 0, 0), (0, 0, 32, 48))  # left half transparent
    im.save(tmp_path / "a.png")
    m = load_mask(_item(tmp_path / "a.png"))
    assert m.shape == (6, 8) and (m[:, :4] == 0).all() and (m[:, 4:] == 1).all()
    flipped = load_mask(_item(tmp_path / "a.png"), flip=True)
    assert (flipped[:, 4:] == 0).all() and (flipped[:, :4] == 1).all()
    Image.new("RGB", (64, 48)).save(tmp_path / "b.png")
    assert load_mask(_item(tmp_path / "b.png")) is None  # no alpha, no mask file: every pixel trains
    mk = Image.new("L", (64, 48), 255)
    mk.paste(0, (0, 0, 64, 24))  # top half ignored
    mk.save(tmp_path / "b.mask.png")
    m = load_mask(_item(tmp_path / "b.png"))
    assert (m[:3] == 0).all() and (m[3:] == 1).all()
    Image.new("L", (10, 10)).save(tmp_path / "b.mask.png")
    with pytest.raises(MaskError, match="10x10 but its image is 64x48"):
        load_mask(_item(tmp_path / "b.png"))


def test_masked_out_half_contributes_nothing_to_the_gradient():
    import torch

    from loratui.train.loss import LossSettings, per_image_loss

    g = torch.Generator().manual_seed(0)
    pred = torch.randn(2, 4, 6, 8, generator=g, requires_grad=True)
    tgt = torch.randn(2, 4, 6, 8, generator=g)
    mask = torch.ones(2, 1, 6, 8)
    mask[:, :, :, :4] = 0
    t = torch.tensor([10, 500])
    ac = torch.linspace(0.99, 0.01, 1000)
    loss = per_image_loss(pred, tgt, t, ac, LossSettings(min_snr_gamma=5.0), mask=mask).mean()
    loss.backward()
    assert (pred.grad[..., :4] == 0).all() and (pred.grad[..., 4:] != 0).all()
    # changing the masked-out half of the prediction changes nothing
    other = pred.detach().clone()
    other[..., :4] += 100
    again = per_image_loss(other, tgt, t, ac, LossSettings(min_snr_gamma=5.0), mask=mask).mean()
    assert torch.equal(again, loss.detach())


def test_mask_files_are_not_training_images_and_the_check_reports_them(tmp_path):
    from loratui.check.masks import mask_findings
    from loratui.dataset import Dataset
    from loratui.dataset.training_images import folder_images

    d = tmp_path / "1_x"
    d.mkdir()
    for n in ("a", "b", "c"):
        Image.new("RGB", (64, 48)).save(d / f"{n}.png")
    Image.new("L", (64, 48), 255).save(d / "a.mask.png")
    Image.new("L", (32, 32), 255).save(d / "b.mask.png")
    assert sorted(r for r, _ in folder_images(str(d)).images) == ["a.png", "b.png", "c.png"]
    ds = Dataset.open(str(tmp_path))
    found = {f.code: f for f in mask_findings(ds)}
    assert "2 image(s) have a loss mask" in found["masks"].message
    wrong = found["mask-wrong-size"]
    assert wrong.message == f"{os.path.join('1_x', 'b.mask.png')} is 32x32 but {os.path.join('1_x', 'b.png')} is 64x48"
