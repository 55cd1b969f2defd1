"""The training run, start to end: data -> model -> network -> (cached latents) -> steps -> files.

Positions: ``step`` counts optimizer updates (kohya's "steps"); an epoch is the batch plan of
``TrainData.epoch_batches(epoch)``; updates group ``grad_accumulation`` consecutive batches, and
the last group of an epoch may be shorter. All randomness of a batch (noise, timesteps, dropout,
caption shuffling) is seeded from ``(seed, epoch, batch index)``, so a resumed run continues on
exactly the trajectory of an uninterrupted one.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from dataclasses import dataclass

# the run-folder file names live in loratui.runs.layout (the CLI, the supervisor and the monitor use them too)
from loratui.runs.layout import CHECKPOINT_DIR, CHECKPOINT_FILE, FINISHED_FILE
from loratui.runs.layout import SAVE_NOW as SAVE_NOW_FILE
from loratui.runs.layout import STOP as STOP_FILE

from .data import build_train_data
from .events import EventLog
from .guard import NonFiniteLoss, params_finite
from .hooks import hang_for_test, nan_for_test
from .models import check_model_path
from .spec import TrainSpec

"""A request (from ``loratui runs checkpoint`` or the monitor) to write a checkpoint after the
current step and go on training; the worker removes the file once the checkpoint is written."""
STOP_AT_STEP_ENV = "LORATUI_STOP_AT_STEP"
"""Test hook: behave as if the stop file appeared right after this step."""


class Stopper:
    """Stop requests: the ``stop`` file in the run folder, SIGINT/SIGTERM, or the test hook."""

    def __init__(self, run_dir: str | None):
        self.stop_file = os.path.join(run_dir, STOP_FILE) if run_dir else None
        self.reason: str | None = None
        at = os.environ.get(STOP_AT_STEP_ENV, "")
        self.stop_at = int(at) if at.strip().isdigit() else None

    def install_signals(self) -> None:
        import signal

        def handler(signum, frame):
            self.reason = signal.Signals(signum).name
            # a second signal of the same kind is not swallowed: it ends the process at once
            signal.signal(signum, signal.SIG_DFL)

        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, handler)

    def save_now_requested(self) -> bool:
        if self.stop_file is None:
            return False
        request = os.path.join(os.path.dirname(self.stop_file), SAVE_NOW_FILE)
        if not os.path.exists(request):
            return False
        try:
            os.unlink(request)
        except OSError:
            pass
        return True

    def requested(self, step: int) -> str | None:
        if self.reason:
            return self.reason
        if self.stop_file and os.path.exists(self.stop_file):
            self.reason = "stop_file"
        elif self.stop_at is not None and step >= self.stop_at:
            self.reason = "stop_file"
        return self.reason


@dataclass
class Result:
    status: str
    """finished | stopped"""
    step: int
    epoch: int
    path: str = ""


def _seed_of(*parts) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "little") & (2**63 - 1)


def lora_filename(spec: TrainSpec, epoch: int | None) -> str:
    """The LoRA file for ``epoch`` (None: the final one), always inside ``output_dir``."""
    from loratui.dataset.safe_paths import check_component, check_inside

    check_component(spec.output_name, what="output name", max_len=200)
    name = spec.output_name if epoch is None else f"{spec.output_name}-{epoch:06d}"
    return str(check_inside(spec.output_dir, os.path.join(spec.output_dir, name + ".safetensors")))


def prune_epoch_files(spec: TrainSpec, epoch: int, events: EventLog) -> None:
    """``keep_last``: remove the per-epoch file that just fell out of the last N saved (as kohya's
    ``save_last_n_epochs``). Only files this schedule wrote are touched."""
    old = epoch - spec.keep_last * spec.save_every_n_epochs
    if old < 1:
        return
    path = lora_filename(spec, old)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as e:
        events.warning(f"could not remove an old epoch file ({e.strerror or e})", path=path)
        return
    events.emit("pruned", path=path, epoch=old)


def train(spec: TrainSpec, run_dir: str | None, events: EventLog, stopper: Stopper | None = None,
          resume: bool = True) -> Result:
    """Run (or resume) training. Raises DataError / ModelError / OptimizerUnavailable on bad input."""
    t_start = time.time()
    stopper = stopper or Stopper(run_dir)
    # ---- data first: an empty dataset is an error before any model loads
    data = build_train_data(spec)
    from .validation import split_validation

    val_items = split_validation(data, spec)  # held-out images never train
    for path, why in data.skipped:
        events.warning(f"skipped {path}: {why}", path)
    for path, why in data.notes:
        events.warning(why, path)
    _emit_dataset(events, data, int(os.environ.get("WORLD_SIZE", "1") or 1))  # accelerate launch sets it
    from .samples import parse_prompts

    prompts = parse_prompts(spec.sample_prompts) if (spec.sample_every_n_epochs or spec.sample_every_n_steps) else []
    check_model_path(spec)

    import torch
    from accelerate import Accelerator

    from loratui.lora.kohya_save import save_kohya

    from .conditioning import TextEncoder, size_ids
    from .distributed import agree_stop, mean_over_ranks
    from .image_loss import ImageLosses
    from .latents import build_cache, default_cache_dir, encode_pixels
    from .loss import LossSettings, offset_noise, per_image_loss, target
    from .metadata import file_metadata, training_metadata
    from .models import load_models
    from .network import adapter_state, build_network, kohya_tensors, load_adapter_state
    from .optim import make_optimizer, make_scheduler
    from .threads import apply_cpu_threads

    threads, threads_why = apply_cpu_threads(spec.cpu_threads)
    cpu = spec.device == "cpu" or (spec.device == "auto" and not torch.cuda.is_available())
    handlers = []
    if spec.module_dropout:  # a skipped LyCORIS module leaves its parameters without gradients this step
        from accelerate.utils import DistributedDataParallelKwargs

        handlers.append(DistributedDataParallelKwargs(find_unused_parameters=True))
    acc = Accelerator(mixed_precision=spec.mixed_precision if not cpu or spec.mixed_precision == "bf16" else "no",
                      cpu=cpu, kwargs_handlers=handlers)
    device = acc.device
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(acc.mixed_precision, torch.float32)

    models = load_models(spec, dtype=weight_dtype)
    unet, te, vae, sched = models.unet, models.text_encoder, models.vae, models.noise_scheduler
    te2 = models.text_encoder_2
    events.emit("model_loaded", base_model=spec.base_model, kind=models.kind, family=spec.family,
                v_parameterization=models.v_parameterization, zero_terminal_snr=spec.zero_terminal_snr,
                device=str(device), dtype=str(weight_dtype), seconds=round(models.seconds, 2),
                cpu_threads=threads, cpu_threads_from=threads_why)
    if models.checkpoint_ztsnr and not spec.zero_terminal_snr:
        events.warning("this checkpoint was trained with zero-terminal SNR (it has a `ztsnr` key) but "
                       "model.zero_terminal_snr is off", spec.base_model)
    vae.requires_grad_(False)
    vae.eval()
    vae.to(device)  # fp32 (load_models): the SD VAE overflows in fp16
    for m in models.text_encoders + [unet]:
        m.to(device)  # already in weight_dtype
    torch.manual_seed(spec.seed)  # lora_down's kaiming init draws from the global RNG
    net = build_network(unet, te, spec, text_encoder_2=te2)
    unet_params = net.unet_params(unet)
    te_params = net.te_params(te)
    te2_params = net.te2_params(te2)
    n_params = sum(p.numel() for p in unet_params + te_params + te2_params)
    events.emit("network", network=spec.network_type, unet_modules=len(net.unet_targets),
                te_modules=len(net.te_targets) + len(net.te2_targets), te1_modules=len(net.te_targets),
                te2_modules=len(net.te2_targets), trainable_params=n_params)
    if not unet_params and not te_params and not te2_params:
        raise ValueError("nothing to train: enable the UNet and/or the text encoder")
    train_te = bool(te_params or te2_params)
    if spec.cache_text_encoder_outputs and train_te:
        raise ValueError("cached text-encoder outputs cannot train the text encoders: set "
                         "network.train_text_encoder = false, or turn dataset.cache_text_encoder_outputs off")
    if spec.cache_text_encoder_outputs and any(s.shuffle_caption or s.caption_dropout_rate or
                                               s.caption_tag_dropout_rate for s in spec.subsets):
        raise ValueError("cached text-encoder outputs need fixed captions: turn caption shuffling and "
                         "dropout off, or dataset.cache_text_encoder_outputs off")
    if spec.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
        if train_te:
            for m in models.text_encoders:
                if hasattr(m, "activation_checkpointing_enable"):  # transformers >= 5.2x
                    m.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
                else:
                    m.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    unet.train(bool(unet_params))
    for m in models.text_encoders:
        m.train(train_te)

    groups = []
    if unet_params:
        groups.append({"params": unet_params, "lr": spec.unet_lr, "name": "unet"})
    if te_params:
        groups.append({"params": te_params, "lr": spec.text_encoder_lr, "name": "te1" if te2 is not None else "te"})
    if te2_params:
        lr2 = spec.text_encoder_lr if spec.text_encoder2_lr is None else spec.text_encoder2_lr
        groups.append({"params": te2_params, "lr": lr2, "name": "te2"})
    optimizer = make_optimizer(spec.optimizer, groups, dict(spec.optimizer_args))
    world, rank = acc.num_processes, acc.process_index
    total_steps = data.total_steps(world)
    num_epochs = data.num_epochs(world)  # max_train_steps, when set, decides the epochs (sd-scripts)
    warmup = spec.lr_warmup_steps or int(spec.lr_warmup_ratio * total_steps)
    lr_sched = make_scheduler(spec.lr_scheduler, optimizer, warmup, total_steps, spec.lr_scheduler_num_cycles,
                              spec.lr_scheduler_power)
    # the scheduler stays unprepared: accelerate would step it once per process
    unet_t, te_t, te2_t = unet, te, te2
    if acc.num_processes > 1:
        if unet_params:
            unet_t = acc.prepare(unet)
        if te_params:
            te_t = acc.prepare(te)
        if te2_params:
            te2_t = acc.prepare(te2)
    optimizer = acc.prepare(optimizer)

    ema = None
    if spec.ema:
        from .ema import LoraEMA

        ema = LoraEMA(unet_params + te_params, spec.ema_decay)
    image_losses = ImageLosses()
    validator = None
    if val_items:  # encoded now, while the VAE is on the device
        from .validation import Validator

        validator = Validator(val_items, spec, vae, sched.config.num_train_timesteps,
                              on_bad=lambda path, msg: events.warning(msg, path))
        events.emit("validation_set", images=validator.paths, timesteps=validator.timesteps)
        if not validator.entries:
            validator = None

    # ---- latents
    cache = None
    if spec.cache_latents:
        t0 = time.time()
        last = [0.0]

        def progress(done, total, from_disk):
            if done in (0, total) or time.time() - last[0] > 0.5:
                last[0] = time.time()
                events.emit("caching", done=done, total=total, from_disk=from_disk)

        bad: set[int] = set()

        def bad_image(idx, message):
            bad.add(idx)
            events.warning(message, data.items[idx].path)

        disk = (spec.latent_cache_dir or default_cache_dir()) if spec.cache_latents_to_disk else ""
        cache = build_cache(data, vae, progress, bad_image, to_disk=disk, seed=spec.seed)
        if bad:
            keep = {i: it for i, it in enumerate(data.items) if i not in bad}
            remap = {old: new for new, old in enumerate(sorted(keep))}
            data.drop(bad)
            cache.latents = {(remap[i], f): v for (i, f), v in cache.latents.items() if i in remap}
            if not data.items:
                from .data import DataError

                raise DataError("no usable training images (all unreadable)")
            total_steps = data.total_steps(world)
            num_epochs = data.num_epochs(world)
            _emit_dataset(events, data, world)
        if acc.num_processes == 1 and device.type != "cpu":
            vae.to("cpu")
            torch.cuda.empty_cache()
        events.emit("caching", done=len(cache.latents), total=len(cache.latents), seconds=round(time.time() - t0, 2))

    # ---- resume
    step, epoch, batch_pos = 0, 0, 0
    ckpt_path = os.path.join(run_dir, CHECKPOINT_DIR, CHECKPOINT_FILE) if run_dir else None
    if resume and ckpt_path and os.path.exists(ckpt_path):
        st = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if st.get("world", 1) != world:
            events.warning(f"this checkpoint was written by {st.get('world', 1)} processes, resuming with {world}: "
                           "the position in the epoch is converted", ckpt_path)
            st["batch"] = math.ceil(st["batch"] * st.get("world", 1) / world)
        if st.get("fingerprint") != spec.fingerprint():
            events.warning("the config changed since this checkpoint; resuming anyway with the new settings",
                           ckpt_path)
        load_adapter_state(net, unet, te, st["adapter"], te2)
        optimizer.load_state_dict(st["optimizer"])
        lr_sched.load_state_dict(st["scheduler"])
        step, epoch, batch_pos = st["step"], st["epoch"], st["batch"]
        if ema is not None and st.get("ema"):
            ema.load_state_dict(st["ema"])
        image_losses.load_state_dict(st.get("image_losses") or {})
        import random

        random.setstate(st["python_rng"])
        torch.set_rng_state(st["torch_rng"])
        events.emit("resumed", step=step, epoch=epoch + 1, batch=batch_pos, path=ckpt_path)

    session_id = str(uuid.uuid4().int % 2**31)
    base_md = training_metadata(spec, data, session_id=session_id, started_at=t_start,
                                model_hash=models.model_hash, legacy_model_hash=models.legacy_hash,
                                v_parameterization=models.v_parameterization, total_steps=total_steps,
                                num_processes=acc.num_processes, num_epochs=num_epochs)
    save_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(spec.save_precision)

    def save_lora(ep: int | None, final: bool) -> str:
        path = lora_filename(spec, None if final else ep)
        if acc.is_main_process:
            def tensors_now():
                return kohya_tensors(net, acc.unwrap_model(unet_t), acc.unwrap_model(te_t), save_dtype,
                                     text_encoder_2=te2)

            md = file_metadata(base_md, epoch=ep or epoch, step=step, final=final)
            if last_val[0] is not None:
                md["loratui_validation_loss"] = f"{last_val[0]:.6f}"
                md["loratui_validation_step"] = str(last_val[1])
            if ema is not None:
                md["loratui_ema_decay"] = str(spec.ema_decay)
                if final and spec.save_raw_with_ema:
                    raw = path[:-len(".safetensors")] + "-raw.safetensors"
                    save_kohya(raw, tensors_now(), {**md, "loratui_ema_decay": ""})
                    events.emit("saved", path=raw, epoch=ep, step=step, final=final, ema=False)
                with ema.applied():  # saved inside: the tensors may be views of the parameters
                    save_kohya(path, tensors_now(), md)
            else:
                save_kohya(path, tensors_now(), md)
            events.emit("saved", path=path, epoch=ep, step=step, final=final)
            if not final and spec.keep_last and spec.save_every_n_epochs:
                prune_epoch_files(spec, ep, events)
        return path

    def sample(ep: int, by_step: bool = False) -> None:
        if not prompts or not acc.is_main_process:
            return
        from .samples import generate

        generate(models, acc.unwrap_model(unet_t), acc.unwrap_model(te_t), net, prompts,
                 spec.sample_strengths or [1.0], spec=spec, folder=os.path.join(spec.output_dir, "samples"),
                 epoch=ep, step=step, device=device, autocast=acc.autocast, emit=events.emit, by_step=by_step,
                 text_encoder_2=te2)

    def save_checkpoint(ep: int, bpos: int) -> str | None:
        if not ckpt_path or not acc.is_main_process:
            return None
        import random

        os.makedirs(os.path.dirname(ckpt_path), mode=0o755, exist_ok=True)
        st = {"adapter": adapter_state(net, acc.unwrap_model(unet_t), acc.unwrap_model(te_t), te2),
              "optimizer": optimizer.state_dict(), "scheduler": lr_sched.state_dict(),
              "step": step, "epoch": ep, "batch": bpos, "fingerprint": spec.fingerprint(), "world": world,
              "python_rng": random.getstate(), "torch_rng": torch.get_rng_state(),
              "image_losses": image_losses.state_dict()}
        if ema is not None:
            st["ema"] = ema.state_dict()
        tmp = ckpt_path + ".tmp"
        torch.save(st, tmp)
        os.replace(tmp, ckpt_path)
        events.emit("checkpoint", path=ckpt_path, step=step, epoch=ep + 1, batch=bpos)
        return ckpt_path

    alphas_cumprod = sched.alphas_cumprod.to(device)
    text_encoder = TextEncoder([models.tokenizer] + ([models.tokenizer_2] if te2 is not None else []),
                               [te_t] + ([te2_t] if te2 is not None else []),
                               [te] + ([te2] if te2 is not None else []), spec.clip_skip, device)
    text_cache = None
    if spec.cache_text_encoder_outputs:
        text_cache = _cache_text(data, text_encoder, acc.autocast, events)
        if validator is not None:  # the held-out captions too, while the encoders are on the device
            with acc.autocast():
                text_cache.fill(validator.captions, text_encoder)
        if acc.num_processes == 1 and device.type != "cpu":
            for m in models.text_encoders:  # never called again: free their memory for the UNet
                m.to("cpu")
            torch.cuda.empty_cache()
    loss_settings = LossSettings(v_prediction=models.v_parameterization, min_snr_gamma=spec.min_snr_gamma)
    mask_memo: dict = {}

    def batch_masks(batch, latents):
        """(B, 1, h, w) loss weights of a batch (ones where an image has no mask); read once per image."""
        from .masks import MaskError, load_mask

        out = []
        for i, f in batch:
            if (i, f) not in mask_memo:
                try:
                    m = load_mask(data.items[i], f)
                except MaskError as e:
                    from .data import DataError

                    raise DataError(str(e)) from None
                mask_memo[(i, f)] = None if m is None else torch.from_numpy(m)
            m = mask_memo[(i, f)]
            out.append(torch.ones(latents.shape[2:]) if m is None or tuple(m.shape) != tuple(latents.shape[2:]) else m)
        return torch.stack(out)[:, None].to(latents.device)

    def micro_step(batch, ep: int, bi: int, scale: float) -> float:
        hang_for_test(step + 1)
        seed = _seed_of(spec.seed, "batch", ep, bi)
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)  # LoRA dropout
        if cache is not None:
            latents = torch.stack([cache.get(i, f) for i, f in batch]).to(device, weight_dtype)
        else:
            from .data import load_pixels

            pix = torch.stack([torch.from_numpy(load_pixels(data.items[i], f)) for i, f in batch])
            latents = encode_pixels(vae, pix, [_seed_of(seed, k) for k in range(len(batch))]).to(weight_dtype)
        bsz = latents.shape[0]
        noise = torch.randn(latents.shape, generator=gen, dtype=torch.float32)
        if spec.noise_offset:
            noise += offset_noise(latents.shape, spec.noise_offset, gen)
        timesteps = torch.randint(0, sched.config.num_train_timesteps, (bsz,), generator=gen)
        noise = noise.to(device, weight_dtype)
        timesteps = timesteps.to(device)
        noisy = sched.add_noise(latents, noise, timesteps)
        captions = data.captions(batch, ep, bi)
        with acc.autocast():
            if text_cache is not None:
                cond = text_cache.get(captions, device, weight_dtype)
            else:
                with torch.set_grad_enabled(train_te):
                    cond = text_encoder(captions)
            added = None
            if cond.pooled is not None:  # SDXL: pooled text + size/crop ids of each image
                ids = [size_ids(data.items[i].size, data.items[i].bucket, f) for i, f in batch]
                added = {"text_embeds": cond.pooled, "time_ids": torch.tensor(ids, dtype=torch.float32, device=device)}
            pred = unet_t(noisy, timesteps, cond.hidden, added_cond_kwargs=added).sample
        per_image = per_image_loss(pred, target(latents, noise, timesteps, alphas_cumprod, loss_settings.v_prediction),
                                   timesteps, alphas_cumprod, loss_settings,
                                   mask=batch_masks(batch, latents) if spec.alpha_mask else None)
        loss = nan_for_test(per_image.mean(), step + 1)
        image_losses.add([data.items[i].path for i, _ in batch], per_image.detach().float().cpu().tolist())
        acc.backward(loss * scale)
        return float(loss.detach())

    last_val: list = [None, None]  # (loss, step) of the latest validation

    def predict(noisy, timesteps, captions):
        """The UNet's prediction for validation (its images are shown whole: size = bucket, no crop)."""
        with acc.autocast():
            cond = text_cache.get(captions, device, weight_dtype) if text_cache is not None else text_encoder(captions)
            added = None
            if cond.pooled is not None:
                bucket = (noisy.shape[3] * 8, noisy.shape[2] * 8)
                ids = [size_ids(bucket, bucket, False)] * noisy.shape[0]
                added = {"text_embeds": cond.pooled, "time_ids": torch.tensor(ids, dtype=torch.float32, device=device)}
            return unet_t(noisy, timesteps, cond.hidden, added_cond_kwargs=added).sample

    def validate() -> None:
        if validator is None or not acc.is_main_process or last_val[1] == step:
            return
        t0 = time.time()
        run = ema.applied() if ema is not None else _nullcontext()
        with run:
            mean, per = validator.evaluate(predict, sched, alphas_cumprod, loss_settings,
                                           [acc.unwrap_model(m) for m in (unet_t, te_t, te2_t) if m is not None],
                                           device, weight_dtype)
        last_val[0], last_val[1] = mean, step
        events.emit("validation", step=step, epoch=epoch + 1, loss=round(mean, 6),
                    images=[{"path": p, "loss": round(v, 6)} for p, v in per], seconds=round(time.time() - t0, 2))

    def emit_image_losses() -> None:
        if acc.is_main_process and image_losses.recent:
            events.emit("image_losses", step=step, epoch=epoch + 1, images=image_losses.table())

    # ---- loop
    params = unet_params + te_params + te2_params
    ga = spec.grad_accumulation
    rate = None
    t_last = time.time()
    stop_reason = None
    stop_ckpt = None
    done = step >= total_steps
    while not done and epoch < num_epochs:
        batches = data.epoch_batches(epoch)
        # multi-GPU: micro-step b of rank r trains batch b*world + r (wrapping to pad the last one)
        n_micro = math.ceil(len(batches) / world)
        loss_sum, loss_n = 0.0, 0
        bi = batch_pos
        while bi < n_micro:
            group = range(bi, min(bi + ga, n_micro))
            gl = 0.0
            for b in group:
                k = (b * world + rank) % len(batches)
                gl += micro_step(batches[k], epoch, k, 1.0 / len(group))
            gnorm = acc.clip_grad_norm_(params, spec.max_grad_norm) if spec.max_grad_norm > 0 else None
            lrs = {g.get("name", str(k)): g["lr"] for k, g in enumerate(optimizer.param_groups)}
            bad = _non_finite(gl, gnorm)
            if bad:  # drop this update, keep the weights from before it
                optimizer.zero_grad(set_to_none=True)
                raise NonFiniteLoss(bad[0], step + 1, bad[1], save_checkpoint(epoch, bi) if params_finite(params)
                                    else None, lrs)
            optimizer.step()
            if ema is not None:
                ema.update()
            lr_sched.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            bi = group.stop
            loss = mean_over_ranks(acc, gl / len(group))
            loss_sum += loss
            loss_n += 1
            now = time.time()
            dt = max(now - t_last, 1e-9)
            t_last = now
            rate = 1.0 / dt if rate is None else 0.8 * rate + 0.2 / dt
            nimg = sum(len(batches[(b * world + r) % len(batches)]) for b in group for r in range(world))
            events.emit("step", step=step, total_steps=total_steps, epoch=epoch + 1, loss=round(loss, 6),
                        loss_avg=round(loss_sum / loss_n, 6), lr=lrs, it_s=round(rate, 4),
                        samples_s=round(nimg / dt, 3), eta_s=round((total_steps - step) / rate, 1))
            if spec.sample_every_n_steps and step % spec.sample_every_n_steps == 0 and step < total_steps:
                sample(epoch + 1, by_step=True)
            if spec.validate_every_n_steps and step % spec.validate_every_n_steps == 0:
                validate()
            if step >= total_steps:
                done = True
                break
            if (spec.checkpoint_every_n_steps and step % spec.checkpoint_every_n_steps == 0) \
                    or (acc.is_main_process and stopper.save_now_requested()):  # only the writer takes it
                save_checkpoint(epoch, bi)
            stop_reason = agree_stop(acc, stopper.requested(step))
            if stop_reason:
                break
        if stop_reason:
            stop_ckpt = save_checkpoint(epoch, bi)
            break
        events.emit("epoch_end", epoch=epoch + 1, step=step, loss_avg=round(loss_sum / loss_n, 6) if loss_n else None)
        emit_image_losses()
        if not spec.validate_every_n_steps:
            validate()
        last_epoch = done or epoch + 1 >= num_epochs
        if not last_epoch and spec.save_every_n_epochs and (epoch + 1) % spec.save_every_n_epochs == 0:
            save_lora(epoch + 1, final=False)
        if spec.sample_every_n_epochs and ((epoch + 1) % spec.sample_every_n_epochs == 0 or last_epoch):
            sample(epoch + 1)
        epoch += 1
        batch_pos = 0
        if not last_epoch:
            stop_ckpt = save_checkpoint(epoch, 0)
            stop_reason = agree_stop(acc, stopper.requested(step))
            if stop_reason:
                break
    if stop_reason:
        emit_image_losses()
        events.emit("stopped", step=step, epoch=epoch + 1, reason=stop_reason, checkpoint=stop_ckpt)
        return Result("stopped", step, epoch)
    validate()  # the final weights' validation loss goes into the file's metadata
    final = save_lora(epoch, final=True)
    if run_dir and acc.is_main_process:
        import json

        os.makedirs(os.path.join(run_dir, CHECKPOINT_DIR), mode=0o755, exist_ok=True)
        with open(os.path.join(run_dir, CHECKPOINT_DIR, FINISHED_FILE), "w") as f:
            json.dump({"path": final, "step": step, "epoch": epoch}, f)
    events.emit("finished", step=step, epoch=epoch, path=final, seconds=round(time.time() - t_start, 2))
    return Result("finished", step, epoch, final)


def _nullcontext():
    from contextlib import nullcontext

    return nullcontext()


def _non_finite(loss: float, gnorm) -> tuple[str, float] | None:
    """("loss" | "gradient norm", value) when the update must not be applied."""
    if not math.isfinite(loss):
        return "loss", loss
    if gnorm is not None:
        g = float(gnorm)
        if not math.isfinite(g):
            return "gradient norm", g
    return None


def _cache_text(data, text_encoder, autocast, events):
    """Every training caption encoded once (captions are fixed: no shuffle or dropout, checked by
    the config). Returns the filled ``TextCache``."""
    import time

    from .conditioning import TextCache

    t0 = time.time()
    captions = [data.captions([(i, False)], 0, 0)[0] for i in range(len(data.items))]
    cache = TextCache()
    with autocast():
        cache.fill(captions, text_encoder)
    events.emit("text_cache", captions=len(cache), seconds=round(time.time() - t0, 2))
    return cache


def _emit_dataset(events: EventLog, data, world: int = 1) -> None:
    subsets = [{"path": s.path, "repeats": s.repeats, "images": sum(1 for it in data.items if it.subset == i)}
               for i, s in enumerate(data.subsets)]
    events.emit("dataset", images=len(data.items), skipped=len(data.skipped), subsets=subsets,
                buckets=[{"w": w, "h": h, "images": len(ids)} for (w, h), ids in data.buckets().items()],
                num_train_images=data.num_train_images(), batches_per_epoch=data.batches_per_epoch(),
                steps_per_epoch=data.steps_per_epoch(world), total_steps=data.total_steps(world),
                epochs=data.num_epochs(world), num_reg_images=data.num_reg_images())
