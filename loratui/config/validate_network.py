"""Checks of the ``[network]`` table that depend on the network type (LoRA, LoCon, LoHa, LoKr, DoRA):
settings a type does not use but were set, and the field's rules of thumb for each type."""

from __future__ import annotations

from .network_types import is_lycoris, uses_conv
from .validate import ERROR, WARNING, Finding

MAX_RANK = 1024
"""Largest rank for LoRA / LoCon / LoHa; LoKr accepts kohya_ss' "huge dim = full matrix" (100000)."""


def network_findings(cfg) -> list[Finding]:
    n = cfg.network
    out: list[Finding] = []
    lyco = is_lycoris(n)
    if n.type in ("lora", "locon", "loha"):
        for name in ("dim", "conv_dim"):
            v = getattr(n, name)
            if v > MAX_RANK and (name == "dim" or uses_conv(n)):
                out.append(Finding(ERROR, f"network.{name}", "too large", v, f"1 to {MAX_RANK}",
                                   "only LoKr reads a huge dim as 'full rank' (full_matrix)"))
    if lyco and n.dropout:
        out.append(Finding(ERROR, "network.dropout", "lycoris-lora's LoHa / LoKr / DoRA modules apply no "
                           "activation dropout", n.dropout, "0", "set it to 0; use rank_dropout or module_dropout"))
    if not lyco:
        for name in ("rank_dropout", "module_dropout"):
            if getattr(n, name):
                out.append(Finding(ERROR, f"network.{name}", f"only LyCORIS networks use it, not {n.type}",
                                   getattr(n, name), "0", "set it to 0, or use loha / lokr / dora = true"))
    if lyco and n.type == "lora" and n.preset == "unet-convblock-only":
        out.append(Finding(ERROR, "network.preset", "adapts convolution blocks, which a LoRA has no rank for",
                           n.preset, "", "use type locon, loha or lokr, or another preset"))
    if n.type == "lokr" and n.factor == 0:
        out.append(Finding(ERROR, "network.factor", "not a factor", 0, "-1 (balanced) or >= 1"))
    return out


def network_teaching(cfg) -> list[Finding]:
    n = cfg.network
    out: list[Finding] = []
    if n.type == "loha":
        for name in ("dim", "conv_dim") if uses_conv(n) else ("dim",):
            v = getattr(n, name)
            if v > 32:
                out.append(Finding(WARNING, f"network.{name}", "LoHa's rank is effectively squared "
                                   f"(dim {v} acts like a LoRA of rank up to {v * v})", v, "4 to 32",
                                   "4-16 is usual; a LoHa file is twice a LoRA's of the same dim"))
    if n.type == "lokr":
        if n.factor > 0 and not 4 <= n.factor <= 16:
            out.append(Finding(WARNING, "network.factor", "outside the usual range", n.factor,
                               "-1 (balanced, smallest file) or 4 to 16",
                               "a small factor makes the second Kronecker factor, and the file, large"))
        full = n.full_matrix or n.dim >= 10000
        if n.dim >= 10000 and not n.full_matrix:
            out.append(Finding(WARNING, "network.dim", "a huge LoKr dim means full-rank factors", n.dim, "",
                               "set full_matrix = true to say so (same file)"))
        if full:
            size = "about 1/f² of the adapted weights"
            # measured on SD 1.5's layer shapes, preset full (attn-mlp: about a third)
            hint = "SD 1.5, preset full, fp16: factor -1 about 2.5 MB, 16 about 7 MB, 8 about 28 MB, 4 about 112 MB"
            out.append(Finding(WARNING, "network.full_matrix", f"full-rank LoKr files hold {size}",
                               True, "", hint))
    if uses_conv(n) and n.type != "locon" and n.conv_alpha > n.conv_dim:
        out.append(Finding(WARNING, "network.conv_alpha", "conv_alpha above conv_dim", n.conv_alpha,
                           f"<= {n.conv_dim}"))
    return out
