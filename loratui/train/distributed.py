"""What the processes of a multi-GPU run (``accelerate launch -m loratui.train``) must agree on.

Every rank runs the same loop and meets the others in each backward pass (DDP's all-reduce). A rank
that leaves the loop alone (it saw the stop file one step before the others, or got the signal)
leaves the others waiting in that all-reduce forever, so the stop decision is shared: any rank's
request stops all of them after the same step. The loss a step reports is the mean over the ranks,
the number a single process with ``grad_accumulation = world`` over the same batches reports.
With one process these are plain pass-throughs (no collective).
"""

from __future__ import annotations

PEER_STOP = "peer_stop"
"""The stop reason on a rank whose own request was empty while another rank's was not."""


def agree_stop(acc, reason: str | None) -> str | None:
    if acc.num_processes == 1:
        return reason
    import torch

    flag = torch.tensor([1.0 if reason else 0.0], device=acc.device)
    flag = acc.reduce(flag, reduction="sum")
    return reason or (PEER_STOP if float(flag) > 0 else None)


def mean_over_ranks(acc, value: float) -> float:
    if acc.num_processes == 1:
        return value
    import torch

    t = torch.tensor([value], dtype=torch.float64 if acc.device.type == "cpu" else torch.float32, device=acc.device)
    return float(acc.reduce(t, reduction="mean"))
