"""State stays one fragment deep however long the stream: nothing grows with call length."""

from __future__ import annotations

import numpy as np
import pytest

from siprec_recorder.media.decode import StreamDecoder
from siprec_recorder.media.results import CallFilter
from siprec_recorder.media.writer import KvsStreamWriter

CHUNK = 65536


@pytest.mark.parametrize("fast", [False, True], ids=["general", "fast"])
def test_buffers_stay_bounded(fast: bool) -> None:
    # the call's id stands only after the Cluster: the worst case, a whole fragment held back
    w = KvsStreamWriter(tags_after_cluster={"TransactionId": "long-call"})
    pcm = np.random.default_rng(1).integers(-99, 99, 16000).astype(np.int16)
    fragment_size = len(w.fragment(0, pcm)[1])
    dec = StreamDecoder(fast=fast, call_filter=CallFilter(transaction_id="long-call"))
    peak_buffer = peak_pending = 0
    carry = b""
    for k in range(1, 301):  # 10 minutes
        carry += w.fragment(1_700_000_000_000 + 2000 * k, pcm)[1]
        while len(carry) >= CHUNK:
            dec.feed(carry[:CHUNK])
            carry = carry[CHUNK:]
            peak_buffer = max(peak_buffer, len(dec._reader._buf))
            peak_pending = max(peak_pending, len(dec._pending))
            timeline = dec._tracks[("name", "AUDIO")].timeline if dec._tracks else None
            assert timeline is None or timeline._pending_bytes <= (1 << 20) + fragment_size
    dec.feed(carry)
    result = dec.close()
    assert result.tracks[0].frames == 300 * 100 and result.skipped_fragments == 0
    assert peak_buffer <= CHUNK + 2 * fragment_size  # a partial element, or one templated fragment
    assert peak_pending <= 100  # at most one fragment's frames wait for the filter
    result.close()


@pytest.mark.parametrize("fast", [False, True], ids=["general", "fast"])
def test_after_an_error_the_audio_before_it_is_kept(tmp_path, fast: bool) -> None:  # type: ignore[no-untyped-def]
    """The pipeline keeps what was decoded before bad bytes: close() after a failed feed."""
    w = KvsStreamWriter()
    a, b = (np.random.default_rng(i).integers(-99, 99, 16000).astype(np.int16) for i in (1, 2))
    good = w.fragment(0, a)[1] + w.fragment(2000, b)[1]
    bad = w.fragment(4000, a, producer_tags={"AWS_KINESISVIDEO_ERROR_CODE": "1"})[1]
    dec = StreamDecoder(spool_dir=tmp_path, fast=fast)
    with pytest.raises(Exception, match="KVS error code 1"):
        dec.feed(good + bad)
    dec.feed(good)  # ignored: the decoder stopped at the error
    result = dec.close()
    assert result.tracks[0].frames == 200 and result.fragments == 3
    assert np.array_equal(result.tracks[0].pcm.read_all(), np.concatenate([a, b]))
    result.close()
    assert list(tmp_path.iterdir()) == []  # closing the result deletes the spools


def test_decode_file_leaves_no_spool_behind_on_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from siprec_recorder.errors import MediaError
    from siprec_recorder.media.decode import decode_file

    w = KvsStreamWriter()
    path = tmp_path / "in.mkv"
    path.write_bytes(w.fragment(0, np.zeros(16000, np.int16))[1] + b"\xff" * 64)
    spools = tmp_path / "spools"
    spools.mkdir()
    with pytest.raises(MediaError):
        decode_file(path, spool_dir=spools)
    assert list(spools.iterdir()) == []
