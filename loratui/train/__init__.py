"""The training worker: the only package that imports torch, diffusers, transformers, peft and
accelerate, and only inside functions or in modules that ``loratui --help`` never imports.

Entry points: ``python -m loratui.train RUN_DIR`` (see ``loratui.train.worker``) and
``loratui train CONFIG`` (foreground). Pure-python parts (``spec``, ``events``, ``data``,
``metadata``) import nothing heavy at module level.
"""
