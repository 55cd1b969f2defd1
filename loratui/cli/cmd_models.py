"""`loratui models`: the known WD14 tagger models, their local state, and downloading them."""

from __future__ import annotations

import sys

from .common import EXIT_ERROR, EXIT_OK, EXIT_USAGE

HELP = "list WD14 tagger models and download them (loratui models get NAME)"
DESCRIPTION = """\
Without arguments: list the known models and whether each is available locally.
`loratui models get NAME` downloads model.onnx and selected_tags.csv from the Hugging Face hub
into loratui's model cache (set LORATUI_MODELS_DIR to change where). Offline, copy those two files
into that folder by hand, or pass any folder holding them to `loratui tag --model-dir`."""


def add_arguments(p) -> None:
    p.add_argument("action", nargs="?", choices=["list", "get", "path"], default="list",
                   help="list (default), get NAME (download), path NAME (print its folder)")
    p.add_argument("name", nargs="?", metavar="NAME", help="model name, e.g. vit-v3")


def run(args) -> int:
    from loratui.tagging.models import (
        DEFAULT_MODEL,
        KNOWN_MODELS,
        ModelError,
        download_model,
        local_state,
        models_dir,
        resolve_model,
    )

    if args.action == "list":
        print(f"models folder: {models_dir()}")
        width = max(len(n) for n in KNOWN_MODELS)
        for name, m in KNOWN_MODELS.items():
            state, where = local_state(name)
            shown = {"downloaded": "downloaded", "hf-cache": "in the Hugging Face cache",
                     "missing": "not downloaded"}[state]
            default = " (default)" if name == DEFAULT_MODEL else ""
            note = f"  - {m.note}" if m.note else ""
            print(f"  {name:<{width}}  {m.repo_id:<42} {shown}{default}{note}")
        print("download one with: loratui models get NAME")
        return EXIT_OK
    if not args.name:
        print(f"loratui models {args.action}: give a model name ({', '.join(KNOWN_MODELS)})", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.action == "path":
            print(resolve_model(args.name).dir)
            return EXIT_OK
        state, where = local_state(args.name) if args.name in KNOWN_MODELS else ("missing", None)
        if state == "downloaded":
            print(f"{args.name} is already downloaded: {where}")
            return EXIT_OK
        print(f"downloading {args.name} from {KNOWN_MODELS[args.name].repo_id if args.name in KNOWN_MODELS else '?'} ...",
              file=sys.stderr)
        files = download_model(args.name)
    except ModelError as e:
        print(f"loratui models: {e}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{args.name}: {files.dir}")
    return EXIT_OK
