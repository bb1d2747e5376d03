"""DirectoryStore: keys under the root only, atomic writes, tags beside the object, digests."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from siprec_recorder.errors import StorageError
from siprec_recorder.recording.store import Digests, DirectoryStore


def test_put_and_get_with_tags_and_digest(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "root")
    src = tmp_path / "src.bin"
    src.write_bytes(bytes(range(256)) * 9000)  # > 2 MiB: several read chunks
    obj = store.put_file("a/b/c.wav", src, content_type="audio/wav", tags={"Participant": "agent"})
    sha = subprocess.run(["sha256sum", str(src)], capture_output=True, text=True, check=True)
    assert obj.sha256 == sha.stdout.split()[0] == Digests.of_file(src).stored("x").sha256
    assert obj.bytes == src.stat().st_size and obj.key == "a/b/c.wav"
    assert (tmp_path / "root/a/b/c.wav").read_bytes() == src.read_bytes()
    tags = json.loads((tmp_path / "root/a/b/c.wav.tags.json").read_text())
    assert tags == {"content_type": "audio/wav", "tags": {"Participant": "agent"}}
    assert store.get_tags("a/b/c.wav") == {"Participant": "agent"}

    obj2 = store.put_bytes("a/m.json", b"{}", content_type="application/json", tags={})
    assert obj2.sha256 == hashlib.sha256(b"{}").hexdigest() and obj2.bytes == 2
    assert store.get_bytes("a/m.json") == b"{}"
    assert store.get_bytes("a/none") is None
    # no temp files left behind
    assert not [p for p in (tmp_path / "root").rglob(".tmp-*")]


@pytest.mark.parametrize("key", ["../x", "/abs", "a/../../x", "a\\b", "a/./b", "a//b", "", "x\x00"])
def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    store = DirectoryStore(tmp_path)
    with pytest.raises(StorageError, match="unsafe object key"):
        store.put_bytes(key, b"x", content_type="text/plain", tags={})


def test_failed_write_leaves_no_partial_object(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path / "root")
    store.put_bytes("k", b"old", content_type="text/plain", tags={})
    with pytest.raises(StorageError):
        store.put_file("k", tmp_path / "missing-source", content_type="text/plain", tags={})
    assert store.get_bytes("k") == b"old"
    assert not [p for p in (tmp_path / "root").rglob(".tmp-*")]
