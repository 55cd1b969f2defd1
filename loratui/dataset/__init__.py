"""The dataset core: scanning, captions, the tag index, safe journaled edits. No Textual, no torch."""

from .caption import Caption, bare_tag, normalize_tag, parse_caption, reweigh, split_tags, split_weight
from .caption_file import CaptionError
from .dataset import ApplyResult, Dataset, DatasetError, FileChange, Plan
from .journal import JournalError
from .ops import AddTags, Dedupe, MergeTags, MoveToFront, Operation, RemoveTags, RenameTag, ReplaceRegex, SetTags, SortTags
from .query import ProgressiveSelect, QueryError, parse_query, quote_tag, tags_query
from .report import ERROR, NOTE, WARNING, Problem
from .scan import IMAGE_EXTS, ImageEntry, Subset
from .tag_index import TagIndex

__all__ = [
    "AddTags", "ApplyResult", "Caption", "CaptionError", "Dataset", "DatasetError", "Dedupe", "ERROR",
    "FileChange", "IMAGE_EXTS", "ImageEntry", "JournalError", "MergeTags", "MoveToFront", "NOTE", "Operation", "Plan", "Problem",
    "ProgressiveSelect",
    "QueryError", "RemoveTags", "RenameTag", "ReplaceRegex", "SetTags", "SortTags", "Subset", "TagIndex",
    "WARNING", "bare_tag", "normalize_tag", "parse_caption", "parse_query", "quote_tag", "reweigh", "split_tags", "split_weight", "tags_query",
]
