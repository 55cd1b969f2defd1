"""The per-batch loss on its own: targets, min-SNR weights in both forms, noise offset, ZTSNR."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from diffusers import DDPMScheduler

from loratui.train.loss import (
    LossSettings,
    batch_loss,
    min_snr_weight,
    offset_noise,
    per_image_loss,
    snr,
    target,
    zero_terminal_snr_betas,
)


def _sched(**kw):
    return DDPMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                         beta_schedule="scaled_linear", clip_sample=False, **kw)


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(3, 4, 8, 8, generator=g)
    noise = torch.randn(3, 4, 8, 8, generator=g)
    t = torch.tensor([0, 500, 999])
    return x0, noise, t


def test_epsilon_target_is_the_noise():
    x0, noise, t = _batch()
    assert target(x0, noise, t, _sched().alphas_cumprod, v_prediction=False) is noise


def test_v_target_equals_diffusers_velocity():
    s = _sched(prediction_type="v_prediction")
    x0, noise, t = _batch()
    v = target(x0, noise, t, s.alphas_cumprod, v_prediction=True)
    assert torch.allclose(v, s.get_velocity(x0, noise, t), atol=1e-6)
    assert not torch.allclose(v, noise)


def test_min_snr_weight_both_forms_match_sd_scripts():
    ac = _sched().alphas_cumprod
    t = torch.arange(0, 1000, 37)
    s = snr(ac, t)
    gamma = 5.0
    # sd-scripts' apply_snr_weight, written out
    eps = torch.minimum(s, torch.full_like(s, gamma)) / s
    vp = torch.minimum(s, torch.full_like(s, gamma)) / (s + 1)
    assert torch.allclose(min_snr_weight(s, gamma, v_prediction=False), eps)
    assert torch.allclose(min_snr_weight(s, gamma, v_prediction=True), vp)
    # early (high-SNR) steps are damped; at low SNR the epsilon weight is 1, the v weight snr/(snr+1)
    assert min_snr_weight(s, gamma, False)[0] < 0.01 and min_snr_weight(s, gamma, False)[-1] == 1.0
    assert min_snr_weight(s, gamma, True)[-1] < 0.01


def test_min_snr_weight_at_zero_snr_is_finite():
    s = torch.tensor([0.0, 1.0, 10.0])
    w_eps = min_snr_weight(s, 5.0, False)
    w_v = min_snr_weight(s, 5.0, True)
    assert torch.isfinite(w_eps).all() and w_eps[0] == 1.0
    assert w_v[0] == 0.0 and torch.allclose(w_v, torch.tensor([0.0, 0.5, 5.0 / 11]))


def test_per_image_loss_weights_each_image():
    ac = _sched().alphas_cumprod
    x0, noise, t = _batch()
    pred = noise + 0.1 * x0
    plain = per_image_loss(pred, noise, t, ac, LossSettings())
    assert plain.shape == (3,)
    assert torch.allclose(plain, ((pred - noise) ** 2).mean(dim=(1, 2, 3)))
    weighted = per_image_loss(pred, noise, t, ac, LossSettings(min_snr_gamma=5.0))
    assert torch.allclose(weighted, plain * min_snr_weight(snr(ac, t), 5.0, False))
    assert batch_loss(pred, x0, noise, t, ac, LossSettings(min_snr_gamma=5.0)) == pytest.approx(
        float(weighted.mean()))


def test_batch_loss_v_pred_is_zero_for_the_velocity_and_not_for_the_noise():
    s = _sched(prediction_type="v_prediction")
    x0, noise, t = _batch()
    st = LossSettings(v_prediction=True, min_snr_gamma=5.0)
    assert float(batch_loss(s.get_velocity(x0, noise, t), x0, noise, t, s.alphas_cumprod, st)) < 1e-10
    assert float(batch_loss(noise, x0, noise, t, s.alphas_cumprod, st)) > 0.01


def test_loss_is_fp32_from_half_inputs():
    ac = _sched().alphas_cumprod
    x0, noise, t = _batch()
    out = batch_loss(noise.half() + 0.1, x0.half(), noise.half(), t, ac, LossSettings())
    assert out.dtype == torch.float32 and out.shape == ()


def test_offset_noise_is_one_value_per_image_and_channel():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    o = offset_noise((2, 4, 16, 8), 0.1, g1)
    assert o.shape == (2, 4, 1, 1)
    assert torch.equal(o, 0.1 * torch.randn((2, 4, 1, 1), generator=g2))


def test_zero_terminal_snr_betas_match_diffusers_and_end_at_zero_snr():
    plain = _sched()
    ours = zero_terminal_snr_betas(plain.betas)
    theirs = _sched(rescale_betas_zero_snr=True).betas
    assert torch.allclose(ours, theirs, atol=1e-7)
    ac = torch.cumprod(1 - ours, 0)
    assert float(ac[-1]) == pytest.approx(0.0, abs=1e-12)
    assert float(ac[0]) == pytest.approx(float(plain.alphas_cumprod[0]), rel=1e-6)
    assert float(snr(ac, torch.tensor([999]))) == 0.0
