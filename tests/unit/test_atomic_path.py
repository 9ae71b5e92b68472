"""core/files.atomic_path: a file is replaced whole, or not at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from followup.core.storage import atomic_path


def test_the_file_appears_whole_when_the_block_ends(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "vectors.npy"
    with atomic_path(target) as temporary, temporary.open("wb") as f:
        assert temporary.parent == target.parent and temporary != target
        np.save(f, np.arange(3))
        assert not target.exists(), "nothing under the real name while it is written"
    assert np.load(target).tolist() == [0, 1, 2]
    assert [p.name for p in target.parent.iterdir()] == ["vectors.npy"]
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert target.stat().st_mode == plain.stat().st_mode, "the permissions any new file gets"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
