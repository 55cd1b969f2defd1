"""Per-subset caption options: TOML, kohya round trip, validation, the form, the training spec."""

from __future__ import annotations

from loratui.config import TrainConfig, validate
from loratui.config.fields import parse_subset, set_value
from loratui.config.kohya import export_kohya, import_kohya
from loratui.config.model import SubsetConfig


def _cfg(tmp_path) -> TrainConfig:
    cfg = TrainConfig()
    cfg.dataset.root = str(tmp_path / "data")
    cfg.dataset.keep_tokens = 1
    cfg.dataset.flip_aug = False
    cfg.dataset.subsets = [SubsetConfig("10_char", 10, "char"),
                           SubsetConfig("4_bg", 4, "", keep_tokens=0, flip_aug=True, caption_dropout_rate=0.1)]
    return cfg


def test_unset_options_are_absent_from_the_toml_and_round_trip(tmp_path):
    cfg = _cfg(tmp_path)
    text = cfg.to_toml()
    assert "flip_aug = true" in text and text.count("keep_tokens") == 2  # the dataset's and the bg subset's
    back = TrainConfig.from_toml(text)
    assert back.dataset.subsets == cfg.dataset.subsets
    assert back.dataset.subsets[0].flip_aug is None


def test_kohya_round_trip_keeps_subset_options(tmp_path):
    cfg = _cfg(tmp_path)
    (tmp_path / "data" / "10_char").mkdir(parents=True)
    (tmp_path / "data" / "4_bg").mkdir()
    paths, _notes = export_kohya(cfg, str(tmp_path / "k"))
    dataset_toml = next(p for p in paths if "dataset" in p)
    text = open(dataset_toml).read()
    assert "flip_aug = true" in text and "caption_dropout_rate = 0.1" in text
    back = import_kohya(next(p for p in paths if p != dataset_toml)).config
    bg = next(s for s in back.dataset.subsets if s.image_dir == "4_bg")
    assert (bg.keep_tokens, bg.flip_aug, bg.caption_dropout_rate) == (0, True, 0.1)
    char = next(s for s in back.dataset.subsets if s.image_dir == "10_char")
    assert char.flip_aug is None


def test_out_of_range_subset_option_names_its_path(tmp_path):
    cfg = _cfg(tmp_path)
    cfg.dataset.subsets[1].caption_dropout_rate = 1.5
    errs = [f for f in validate(cfg, check_files=False) if f.is_error]
    assert any(f.path == "dataset.subsets[1].caption_dropout_rate" for f in errs), [f.path for f in errs]


def test_editing_subset_lines_in_the_form_keeps_their_options(tmp_path):
    cfg = _cfg(tmp_path)
    set_value(cfg, "dataset.subsets", [parse_subset("12 x 10_char | char"), parse_subset("5 x 4_bg")])
    bg = cfg.dataset.subsets[1]
    assert (bg.repeats, bg.flip_aug, bg.keep_tokens) == (5, True, 0)


def test_training_spec_uses_the_subset_options(tmp_path):
    from loratui.train.spec import spec_from_config

    spec = spec_from_config(_cfg(tmp_path))
    char, bg = spec.subsets
    assert (char.keep_tokens, char.flip_aug, char.caption_dropout_rate) == (1, False, 0.0)
    assert (bg.keep_tokens, bg.flip_aug, bg.caption_dropout_rate) == (0, True, 0.1)
