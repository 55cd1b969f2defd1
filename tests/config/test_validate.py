from __future__ import annotations

from loratui.config import ERROR, WARNING, Finding, TrainConfig

from .helpers import ready_config


def by_path(findings, path):
    return [f for f in findings if f.path == path]


def test_ready_config_has_no_errors_or_warnings(tmp_path):
    cfg = ready_config(tmp_path)
    assert cfg.validate() == []


def test_error_messages_carry_path_value_allowed_hint(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.optim.unet_lr = -1.0
    cfg.network.type = "glora"
    cfg.dataset.resolution = [500, 512]
    cfg.optim.optimizer_args = ["weight_decay"]
    errs = [f for f in cfg.validate() if f.level == ERROR]
    lr = by_path(errs, "optim.unet_lr")[0]
    assert lr.value == -1.0 and lr.allowed == "> 0" and lr.message == "too small"
    assert str(lr) == "error: optim.unet_lr = -1.0: too small (allowed: > 0)"
    nt = by_path(errs, "network.type")[0]
    assert nt.allowed == "one of: lora, locon, loha, lokr"
    assert by_path(errs, "dataset.resolution")[0].value == [500, 512]
    assert by_path(errs, "optim.optimizer_args[0]")[0].allowed.startswith("e.g.")
    assert all(f.level == ERROR for f in cfg.validate()[:len(errs)])  # errors come first


def test_structural_errors():
    cfg = TrainConfig()
    cfg.network.train_unet = cfg.network.train_text_encoder = False
    cfg.optim.warmup_steps, cfg.optim.warmup_ratio = 10, 0.1
    cfg.output.name = "a/b"
    cfg.hardware.device = "tpu"
    cfg.hardware.gpu_ids, cfg.hardware.num_processes = [0], 2
    cfg.model.base = "old.ckpt"
    paths = {f.path for f in cfg.validate(check_files=False) if f.level == ERROR}
    assert {"model.base", "dataset.subsets", "network.train_unet", "optim.warmup_ratio", "output.name",
            "hardware.device", "hardware.num_processes"} <= paths
    ckpt = by_path(cfg.validate(check_files=False), "model.base")[0]
    assert "pickled" in ckpt.message and ".safetensors" in ckpt.hint + ckpt.allowed


def test_teaching_warnings(tmp_path):
    cfg = ready_config(tmp_path, {"10_mychar": 8})
    cfg.schedule.epochs = 20
    cfg.optim.text_encoder_lr = 2e-4
    cfg.output.trigger_words = []
    cfg.network.alpha = 64.0
    out_dir = tmp_path / "output"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"{cfg.output.name}.safetensors").write_bytes(b"")
    warns = {f.path: f for f in cfg.validate() if f.level == WARNING}
    assert warns["dataset.subsets"].message == "only 8 training images"
    assert "20" in warns["dataset.subsets"].allowed
    assert warns["schedule.epochs"].allowed == "8 to 12"
    assert "100 views" in warns["schedule.epochs"].hint
    assert warns["optim.text_encoder_lr"].message == "above the UNet learning rate"
    assert warns["output.trigger_words"].message == "no trigger word for a character"
    assert warns["network.alpha"].value == 64.0
    cfg.optim.unet_lr = 5e-3
    high = [f for f in cfg.validate() if f.path == "optim.unet_lr"]
    assert high[0].message == "unusually high for AdamW" and high[0].allowed == "<= 0.001"
    assert "overwritten" in warns["output.name"].message
    assert not [f for f in cfg.validate() if f.level == ERROR]


def test_no_trigger_warning_for_a_style(tmp_path):
    cfg = ready_config(tmp_path, preset="style")
    cfg.output.trigger_words = []
    assert not by_path(cfg.validate(), "output.trigger_words")


def test_prodigy_wants_lr_about_one(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.optim.optimizer = "Prodigy"
    w = by_path(cfg.validate(), "optim.unet_lr")
    assert w and w[0].allowed == "about 1.0"
    cfg.optim.unet_lr = cfg.optim.text_encoder_lr = 1.0
    assert not by_path(cfg.validate(), "optim.unet_lr")


def test_missing_files_are_errors(tmp_path):
    cfg = ready_config(tmp_path)
    cfg.model.base = str(tmp_path / "missing.safetensors")
    cfg.dataset.subsets[0].image_dir = "99_gone"
    errs = {f.path: f for f in cfg.validate() if f.level == ERROR}
    assert errs["model.base"].message == "not found"
    assert errs["dataset.subsets[0].image_dir"].value == "99_gone"
    assert not [f for f in cfg.validate(check_files=False) if f.path == "model.base"]


def test_finding_to_dict():
    f = Finding(ERROR, "a.b", "bad", 1, "> 2", "fix it")
    assert f.to_dict() == {"level": "error", "path": "a.b", "message": "bad", "value": 1, "allowed": "> 2",
                           "hint": "fix it"}
    assert str(f) == "error: a.b = 1: bad (allowed: > 2); fix it"
