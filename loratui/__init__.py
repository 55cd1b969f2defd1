"""loratui: from a folder of images to a trained LoRA, in a terminal."""

__version__ = "0.1.0"
