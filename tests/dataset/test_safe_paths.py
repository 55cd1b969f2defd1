"""The path-confinement helper every reader of untrusted records goes through."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loratui.dataset.safe_paths import UnsafePath, check_component, check_inside, clean_relative, resolve_inside


def test_plain_relative_paths_are_normalised(tmp_path):
    assert clean_relative("a/b.txt") == "a/b.txt"
    assert clean_relative("./a//b.txt") == "a/b.txt"
    assert resolve_inside(tmp_path, "10_x/a.txt") == tmp_path / "10_x" / "a.txt"


@pytest.mark.parametrize("bad, reason", [
    ("/etc/passwd", "absolute"),
    ("../sibling.txt", "`..`"),
    ("a/../../b", "`..`"),
    ("a/\x00b", "NUL"),
    ("", "empty"),
    (".", "folder itself"),
    (42, "not a text path"),
    (None, "not a text path"),
    (["a"], "not a text path"),
])
def test_unsafe_relative_paths_are_refused_naming_the_source(tmp_path, bad, reason):
    with pytest.raises(UnsafePath) as ei:
        resolve_inside(tmp_path, bad, source="ds/.loratui/journal/ops/x.json")
    assert reason in str(ei.value)
    assert str(ei.value).startswith("ds/.loratui/journal/ops/x.json: ")


def test_symlink_leaving_the_root_is_refused(tmp_path):
    root = tmp_path / "ds"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "out").symlink_to(outside)
    (root / "file_out.txt").symlink_to(outside / "x.txt")
    (root / "sub").mkdir()
    (root / "in").symlink_to(root / "sub")
    with pytest.raises(UnsafePath, match="symlink"):
        resolve_inside(root, "out/a.txt")
    with pytest.raises(UnsafePath, match="symlink"):
        resolve_inside(root, "file_out.txt")
    assert resolve_inside(root, "in/a.txt") == root / "in" / "a.txt"  # a link inside the root is fine


def test_symlink_loop_is_refused_not_followed_forever(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    try:
        resolve_inside(tmp_path, "loop/a.txt")
    except UnsafePath:
        pass


def test_check_inside_for_absolute_paths(tmp_path):
    assert check_inside(tmp_path, tmp_path / "a" / "b") == tmp_path / "a" / "b"
    with pytest.raises(UnsafePath, match="outside"):
        check_inside(tmp_path / "a", tmp_path / "a" / ".." / "evil")


@pytest.mark.parametrize("bad", ["../x", "a/b", "..", ".hidden", "x\x00", "", " ", "a" * 101, "a\nb"])
def test_check_component_refuses(bad):
    with pytest.raises(UnsafePath):
        check_component(bad, what="run name")


def test_check_component_accepts_plain_names():
    assert check_component("my-run_2 (sdxl)") == "my-run_2 (sdxl)"


@given(st.lists(st.sampled_from(["a", "b", ".", "/", "\\", "\x00", "..", "/..", "../"]), max_size=12).map("".join))
def test_property_whatever_is_accepted_lies_inside(rel):
    root = "/tmp/loratui-root-that-does-not-exist"
    try:
        p = resolve_inside(root, rel)
    except UnsafePath:
        return
    assert os.path.normpath(str(p)).startswith(root + os.sep)
