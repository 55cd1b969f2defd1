"""`loratui inspect FILE`: what a LoRA file is and how it was trained (pure Python, no torch)."""

from __future__ import annotations

import json
import sys

HELP = "show a LoRA file's format, ranks, base model, training settings, tags and hashes"
DESCRIPTION = """\
Show what a LoRA .safetensors file holds: format (kohya LoRA, LoCon, LoHa, LoKr, diffusers-peft),
module counts, rank(s) and alpha(s), base model version, the training settings kohya stored in its
ss_* metadata, the most frequent tags, and its stored vs computed hash.

Reads the header safely (malformed or hostile files give an error, not a crash).
`loratui config from-lora FILE` turns the settings into a training config."""


def add_arguments(p) -> None:
    p.add_argument("file", metavar="FILE", help="a .safetensors LoRA file")
    p.add_argument("--json", action="store_true", help="machine-readable output (includes all metadata)")
    p.add_argument("--no-hash", action="store_true", help="skip hashing the file (faster on big files)")
    p.add_argument("--tags", type=int, default=15, metavar="N", help="how many top tags to show (default 15)")
    p.add_argument("--metadata", action="store_true", help="also print every metadata key")


def run(args) -> int:
    from loratui.lora.header import LoraFileError
    from loratui.lora.inspect import inspect_lora

    try:
        info = inspect_lora(args.file, compute_hashes=not args.no_hash, top_tags=max(args.tags, 0))
    except LoraFileError as e:
        print(f"loratui: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(info.to_dict(), ensure_ascii=False, indent=2))
        return 0
    for line in info.lines(tags=args.tags):
        print(line)
    if args.metadata and info.metadata:
        print("metadata")
        for k, v in sorted(info.metadata.items()):
            v = v if len(v) <= 200 else v[:200] + f"... ({len(v):,} chars)"
            print(f"  {k} = {v}")
    return 0
