"""`loratui config ...`: create, check, import and export training configs."""

from __future__ import annotations

import json
import os
import sys

HELP = "training configs: new from a preset, check (validation + step math), kohya import/export, from a LoRA"
DESCRIPTION = """\
Training configs are TOML files (schema_version, [model], [dataset], [network], [optim], [schedule],
[output], [hardware]); unknown keys are errors. Relative paths are relative to the config file.

examples:
  loratui config new ~/data/mychar --preset character --base ~/models/sd15.safetensors -o mychar.toml
  loratui config check mychar.toml                 validation, warnings and step math
  loratui config export-kohya mychar.toml kohya/   sd-scripts --config_file + dataset config
  loratui config import my_args.toml -o run.toml   sd-scripts TOML (or a kohya_ss GUI .json preset)
  loratui config from-lora liked.safetensors --dataset ~/data/mychar -o run.toml
  loratui config presets                           built-in and saved presets"""


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="config_command", metavar="ACTION")

    n = sub.add_parser("new", help="a new config for a dataset folder from a preset")
    n.add_argument("dir", metavar="DIR", nargs="?", default="", help="dataset folder (<repeats>_<name> subfolders)")
    n.add_argument("--preset", default="character", metavar="NAME",
                   help="character, style, background, concept, or a saved preset (default character)")
    n.add_argument("--base", default="", metavar="MODEL", help="base model (.safetensors or diffusers folder)")
    n.add_argument("--family", default=None, choices=["sd1", "sd2", "sd2-v", "sdxl"],
                   help="model family (default: what the --base files say)")
    n.add_argument("--model-preset", default=None, metavar="NAME",
                   help="sd1, sdxl, illustrious, noobai-eps, noobai-vpred or pony (default: from the base model)")
    n.add_argument("--output-dir", default="", metavar="DIR", help="where LoRAs are written")
    n.add_argument("--score-tags", action="store_true",
                   help="Pony: put its score tags (score_9, score_8_up, score_7_up) before every caption")
    _out_args(n)

    c = sub.add_parser("check", help="validate a config and show its step math")
    c.add_argument("config", metavar="CONFIG")
    c.add_argument("--no-files", action="store_true", help="skip filesystem checks (config for another machine)")
    c.add_argument("--speed", type=float, default=None, metavar="S", help="seconds per step, for the ETA")
    c.add_argument("--json", action="store_true", help="machine-readable output")

    e = sub.add_parser("export-kohya", help="write sd-scripts training-args and dataset-config TOMLs")
    e.add_argument("config", metavar="CONFIG")
    e.add_argument("outdir", metavar="OUTDIR")

    i = sub.add_parser("import", help="import an sd-scripts TOML (args or dataset config) or a kohya_ss .json preset")
    i.add_argument("file", metavar="FILE")
    i.add_argument("--dataset-config", default=None, metavar="TOML", help="the dataset config, if not referenced")
    _out_args(i)

    f = sub.add_parser("from-lora", help="a new config from a LoRA file's training metadata")
    f.add_argument("file", metavar="LORA")
    f.add_argument("--dataset", default=None, metavar="DIR", help="your dataset folder")
    f.add_argument("--base", default=None, metavar="MODEL", help="your base model")
    f.add_argument("--onto", default=None, metavar="CONFIG",
                   help="keep this config's model, dataset and output; take only the training settings")
    _out_args(f)

    sub.add_parser("presets", help="list presets")
    s = sub.add_parser("save-preset", help="save a config's training settings as a named preset")
    s.add_argument("config", metavar="CONFIG")
    s.add_argument("name", metavar="NAME")
    p.set_defaults(_parser=p)


def _out_args(p) -> None:
    p.add_argument("-o", "--output", default=None, metavar="FILE", help="write the config here (default: print it)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")


def _load(path: str):
    """Any config kind (loratui TOML, sd-scripts TOML, kohya_ss .json); an import's notes go to stderr."""
    from loratui.config import load_any

    loaded = load_any(path)
    for line in loaded.report:
        print(line, file=sys.stderr)
    return loaded.config


def _err(msg: str) -> int:
    print(f"loratui: {msg}", file=sys.stderr)
    return 1


def run(args) -> int:
    from loratui.config import ConfigError

    cmd = getattr(args, "config_command", None)
    if not cmd:
        args._parser.print_help()
        return 2
    try:
        return {"new": _new, "check": _check, "export-kohya": _export, "import": _import, "from-lora": _from_lora,
                "presets": _presets, "save-preset": _save_preset}[cmd](args)
    except ConfigError as e:
        return _err(str(e))


def _emit(cfg, args) -> int:
    """Write (or print) a new config; relative paths are kept absolute so the file can move."""
    if args.output is None:
        sys.stdout.write(cfg.to_toml())
        return 0
    if os.path.exists(args.output) and not args.force:
        return _err(f"{args.output}: exists (use --force to overwrite)")
    cfg.save(args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    _summary(cfg, sys.stderr)
    return 0


def _summary(cfg, out) -> None:
    findings = cfg.validate()
    for f in findings:
        print(f"  {f}", file=out)
    if cfg.dataset.subsets:
        for line in cfg.step_math().lines():
            print(f"  {line}", file=out)


def _new(args) -> int:
    from loratui.config import PRESET_DISCLAIMER, new_config

    if args.dir and not os.path.isdir(args.dir):
        return _err(f"{args.dir}: no such folder")
    notes: list[str] = []
    try:
        cfg = new_config(args.dir, args.preset, base=args.base, family=args.family, output_dir=args.output_dir,
                         model_preset=args.model_preset, notes=notes, score_tags=args.score_tags)
    except KeyError as e:
        return _err(str(e.args[0]))
    print(f"preset `{args.preset}`: {PRESET_DISCLAIMER}", file=sys.stderr)
    for note in notes:
        print(note, file=sys.stderr)
    return _emit(cfg, args)


def _check(args) -> int:
    cfg = _load(args.config)
    findings = cfg.validate(check_files=not args.no_files)
    math = cfg.step_math(seconds_per_step=args.speed)  # unreadable folders count as 0 images
    errors = sum(f.is_error for f in findings)
    from loratui.config.validate_family import describe_model
    from loratui.config.vram import estimate_config

    vram = estimate_config(cfg)
    if args.json:
        print(json.dumps({"config": args.config, "ok": errors == 0, "model": describe_model(cfg),
                          "findings": [f.to_dict() for f in findings],
                          "step_math": math.to_dict(), "vram": vram.to_dict()}, indent=2, default=str))
        return 1 if errors else 0
    print(f"config    {args.config}")
    print(f"model     {describe_model(cfg)}")
    for f in findings:
        print(f"  {f}")
    if not findings:
        print("  no problems found")
    print("step math")
    for line in math.lines():
        print(f"  {line}")
    print("GPU memory (estimate; compared with the GPU's free memory at launch)")
    for line in vram.lines():
        print(f"  {line}")
    warnings = len(findings) - errors
    print(f"{errors} error(s), {warnings} warning(s)" + ("" if errors else ": ready to train"))
    return 1 if errors else 0


def _export(args) -> int:
    from loratui.config import export_kohya

    cfg = _load(args.config)
    errors = [f for f in cfg.validate(check_files=False) if f.is_error]
    for f in errors:
        print(f"  {f}", file=sys.stderr)
    try:
        written, notes = export_kohya(cfg, args.outdir)
    except OSError as e:
        return _err(f"{args.outdir}: cannot write ({e.strerror or e})")
    for w in written:
        print(f"wrote {w}")
    for n in notes:
        print(f"note: {n}")
    print(f"train with: accelerate launch {'sdxl_' if cfg.model.family == 'sdxl' else ''}train_network.py "
          f"--config_file {written[0]}")
    return 1 if errors else 0


def _report(res) -> None:
    for line in res.report_lines():  # unsupported network types first, then notes, then the rest
        print(line, file=sys.stderr)


def _import(args) -> int:
    from loratui.config import import_any, import_kohya

    if args.dataset_config:
        res = import_kohya(args.file, dataset_config=args.dataset_config)
    else:
        res = import_any(args.file)
    _report(res)
    return _emit(res.config, args)


def _from_lora(args) -> int:
    from loratui.config import config_from_lora, use_lora_settings

    if args.onto:
        cfg, report = use_lora_settings(_load(args.onto), args.file)
        for line in report:
            print(line, file=sys.stderr)
        return _emit(cfg, args)
    if args.dataset and not os.path.isdir(args.dataset):
        return _err(f"{args.dataset}: no such folder")
    res = config_from_lora(args.file, dataset_dir=args.dataset, base=args.base)
    _report(res)
    return _emit(res.config, args)


def _presets(args) -> int:
    from loratui.config import BUILTIN_PRESETS, PRESET_DISCLAIMER, preset_names, user_presets_dir
    from loratui.config.presets import MODEL_PRESETS

    for name in preset_names():
        p = BUILTIN_PRESETS.get(name)
        print(f"{name:<14} {p.description if p else 'saved preset'}")
    print("\nmodel presets (config new --model-preset; default: detected from --base)")
    for name, mp in MODEL_PRESETS.items():
        print(f"{name:<14} {mp.description}")
    print(f"\n{PRESET_DISCLAIMER}\nsaved presets live in {user_presets_dir()}")
    return 0


def _save_preset(args) -> int:
    from loratui.config import save_user_preset

    cfg = _load(args.config)
    try:
        path = save_user_preset(args.name, cfg)
    except ValueError as e:
        return _err(str(e))
    print(f"saved preset `{args.name}` ({path})")
    return 0
