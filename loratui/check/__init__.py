"""The dataset health check: the mistakes that waste a night of GPU time, found before training,
explained in the field's language, with one-key fixes where they exist. No Textual, no torch;
Pillow and numpy are imported inside the functions that decode and compare images.

Public API::

    report = check_folder("~/datasets/mychar")                # or check_dataset(ds, opts)
    report = check_folder(d, CheckOptions.from_config(cfg, root=d))
    report.findings / report.errors / report.by_group() / report.to_dict()
    finding.fix.apply(ds)                                     # journaled edits; "exclude" moves files
    report = pre_launch_check(cfg); ok, msg = launch_gate(report, override=False)
    restore_excluded(root)                                    # undo "remove duplicates"
"""

from .excluded import EXCLUDED_DIR, exclude_images, excluded_entries, restore_excluded
from .findings import ERROR, GROUP_TITLES, GROUPS, NOTE, WARNING, Finding, Fix, Report
from .options import CheckOptions
from .run import check_dataset, check_folder, launch_gate, pre_launch_check

__all__ = [
    "CheckOptions", "ERROR", "EXCLUDED_DIR", "Finding", "Fix", "GROUPS", "GROUP_TITLES", "NOTE", "Report", "WARNING",
    "check_dataset", "check_folder", "exclude_images", "excluded_entries", "launch_gate", "pre_launch_check",
    "restore_excluded",
]
