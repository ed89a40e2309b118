"""Durable files: a staged write is invisible until placed, and a placed write leaves no temp file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from opentrail.storage.files import TMP_PREFIX, makedirs, md5, md5_file, place, stage, write_atomic, writing


def test_a_staged_write_is_not_in_place_until_placed(tmp_path: Path) -> None:
    target = tmp_path / "object"
    staged = stage(target, b"new bytes")
    assert not target.exists()
    assert writing(str(tmp_path))
    assert Path(staged).name.startswith(TMP_PREFIX)
    place(staged, target)
    assert target.read_bytes() == b"new bytes"
    assert not writing(str(tmp_path))


def test_write_atomic_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "doc"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["doc"]


def test_makedirs_creates_every_missing_folder_and_accepts_existing(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    makedirs(deep)
    makedirs(deep)
    assert deep.is_dir()


def test_a_failed_place_removes_the_staged_file(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "inside").write_bytes(b"x")
    staged = stage(tmp_path / "folder", b"data")
    try:
        place(staged, tmp_path / "folder")  # replacing a non-empty folder fails
    except OSError:
        pass
    else:
        raise AssertionError("replacing a non-empty folder with a file should fail")
    assert not Path(staged).exists()


def test_md5_of_bytes_and_of_a_file_agree(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000
    path = tmp_path / "blob"
    path.write_bytes(data)
    expected = hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert md5(data) == expected == md5_file(path)


def test_writing_is_false_for_a_missing_folder(tmp_path: Path) -> None:
    assert not writing(str(tmp_path / "missing"))
