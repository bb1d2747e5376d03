"""Decoder benchmark (`python -m bench.decode`): whole processes on a generated 2-hour Chime stream.

The stream is one track of 8 kHz L16, 20 ms SimpleBlocks, 2 s fragments, producer tags before and
after every Cluster, written once into bench/out/ by the package's KVS writer. Each contender runs
as its own process (best of 3 wall-clock runs; CPU time and peak RSS of that child alone, measured
by bench._measure):
our CLI on the fast and on the general path (the package as installed: with its bytecode), PyAV
decoding to a WAV, ebmlite walking every element, the floor (read the file, write the same bytes)
and two lower bounds for any CPython decoder (see BOUND). Every WAV must equal PyAV's byte for
byte.
Then peak RSS of a 15-minute vs the 2-hour decode shows memory does not grow with call length.
Outputs of the previous run are deleted before each run (see `fresh`).
A failure (a command failing, a WAV that differs) raises RuntimeError, which `python -m bench`
reports for this section without stopping the others.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench._layers import package_layer
from bench._measure import OUT, machine_header, markdown_table, measure_command
from siprec_recorder.media.writer import KvsStreamWriter

PY = sys.executable
CLI = str(Path(PY).with_name("siprec-recorder"))
RUNS = 3

PYAV = """
import av, sys, wave
with av.open(sys.argv[1]) as c, wave.open(sys.argv[2], "wb") as w:
    s = c.streams.audio[0]
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(s.rate or 8000)
    for p in c.demux(s):
        for f in p.decode():
            w.writeframes(bytes(f.planes[0])[: f.samples * 2])
"""
EBMLITE = """
import sys, ebmlite
schema = ebmlite.loadSchema("matroska.xml")
def walk(el):
    n = 1
    if isinstance(el, ebmlite.core.MasterElement):
        for child in el:
            n += walk(child)
    else:
        el.value
    return n
print(sum(walk(e) for e in schema.load(sys.argv[1])))
"""
FLOOR = """
import sys
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "wb") as g:
    while chunk := f.read(1 << 20):
        g.write(chunk)
"""
# Lower bounds for any CPython decoder of this stream: programs that know its layout (a Cluster
# holds one run of same-size SimpleBlocks and is followed by Tags) and check nothing else. BOUND
# writes the right WAV (checked against PyAV's like the others): each Cluster's payloads are
# gathered with one struct call. With `--no-gather` it only finds every run and writes as many
# bytes (not audio): the cost of the loop and the I/O alone.
BOUND = r"""
import os, struct, sys
gather = "--no-gather" not in sys.argv
src = open(sys.argv[1], "rb", buffering=0)
out = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(out, bytes(44))
buf = bytearray((2 << 20) + (1 << 16)); mv = memoryview(buf)
obuf = bytearray((1 << 20) + (1 << 18)); omv = memoryview(obuf)
o = n = total = 0
layouts = {}
eof = False
def vint(p):
    length = 9 - buf[p].bit_length()
    return int.from_bytes(buf[p:p + length], "big") & ((1 << 7 * length) - 1), length
while not eof:
    got = src.readinto(mv[n:n + (1 << 20)])
    eof = not got
    n += got
    pos = 0
    while True:
        c = buf.find(b"\x1f\x43\xb6\x75", pos, n)  # Cluster
        if c < 0 or c + 64 > n:
            break
        q = c + 4 + vint(c + 4)[1]
        q += 2 + (buf[q + 1] & 0x7F)  # its Timecode
        size, length = vint(q + 1)
        stride, head = 1 + length + size, 1 + length + 4
        col = bytes(mv[q:min(n, q + 256 * stride):stride])
        count = len(col) - len(col.lstrip(b"\xa3"))
        end = q + count * stride
        if end >= n - 4:
            break
        key = (count, stride, head)
        if key not in layouts:
            layouts[key] = (
                struct.Struct(f"{head}x{size - 4}s" * count).unpack_from,
                struct.Struct(f"{size - 4}s" * count).pack_into,
                (size - 4) * count,
            )
        unpack, pack, width = layouts[key]
        if o + width > len(obuf):
            os.write(out, omv[:o]); o = 0
        if gather:
            pack(obuf, o, *unpack(buf, q))
        o += width; total += width
        pos = end
    rest = n - pos
    mv[:rest] = mv[pos:n]
    n = rest
os.write(out, omv[:o])
os.pwrite(out, b"RIFF" + struct.pack("<I", 36 + total) + b"WAVEfmt " +
          struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" +
          struct.pack("<I", total), 0)
os.close(out)
"""


def generate(path: Path, minutes: int, irregular: bool = False) -> Path:
    """A Chime-style stream of `minutes` (kept between runs). `irregular`: as real Chime streams,
    fragments of 99, 100 or 101 frames and every third with +-1 ms of block timecode jitter."""
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tags = {
        "TransactionId": "0b5c2f7e-1111-4a4a-9c9c-1234567890ab",
        "VoiceConnectorId": "abcdefghijklmnopqrstu",
        "CallId": "c0ffee00-1234-5678-9abc-def012345678",
    }
    w = KvsStreamWriter(
        producer_tags=tags, tags_after_cluster={"TransactionId": tags["TransactionId"]}
    )
    rng = np.random.default_rng(1)
    speech = rng.integers(-6000, 6000, 16000 * 7, dtype=np.int16)
    tmp = path.with_suffix(".part")
    at = 1_700_000_000_000
    with open(tmp, "wb") as f:
        for k in range(minutes * 30):
            frames = (99, 100, 101, 100)[k % 4] if irregular else 100
            jitter = [(i + k) % 3 - 1 for i in range(frames)] if irregular and k % 3 == 0 else None
            start = (k * 16000) % (speech.size - (16160 if irregular else 16000))
            pcm = speech[start : start + 160 * frames]
            f.write(w.fragment(at, pcm, jitter_ms=jitter)[1])
            at += 20 * frames
    tmp.rename(path)
    return path


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float


def run_once(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """One child process: wall seconds, CPU seconds and peak RSS of that child alone."""
    m = measure_command(cmd, env=env).check(f"benchmark command {' '.join(cmd)[:200]}")
    return Run(m.wall_s, m.cpu_s, m.peak_rss_mib)


def digest(path: Path) -> str:
    """SHA-256 of a file, read in chunks (keeps this process small)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def fresh(cmd: list[str]) -> None:
    """Delete what a contender wrote last time, so every run writes new files, as a real decode
    does: overwriting a file truncates it, and ext4 then starts writing it back on close
    (auto_da_alloc), which costs 20-30 ms on 115 MB and would be charged to whoever runs next."""
    for i, arg in enumerate(cmd):
        target = Path(cmd[i + 1]) if arg == "--out" and i + 1 < len(cmd) else None
        if target is None and arg.endswith((".wav", ".bin")) and i > 0:
            target = Path(arg)
        if target is not None and target.is_dir():
            for child in target.iterdir():
                child.unlink()
        elif target is not None:
            target.unlink(missing_ok=True)


def best(cmd: list[str], runs: int = RUNS, env: dict[str, str] | None = None) -> Run:
    results = []
    for _ in range(runs):
        fresh(cmd)
        results.append(run_once(cmd, env))
    return Run(
        min(r.wall for r in results), min(r.cpu for r in results), max(r.rss_mb for r in results)
    )


def main() -> None:
    """Run the decoder benchmark and print a markdown table."""
    long = generate(OUT / "chime-2h.mkv", 120)
    short = generate(OUT / "chime-15min.mkv", 15)
    irregular = generate(OUT / "chime-2h-irregular.mkv", 120, irregular=True)
    work = OUT / "decode"
    work.mkdir(parents=True, exist_ok=True)
    empty = work / "empty.mkv"
    empty.write_bytes(b"")
    size_mb = long.stat().st_size / 1e6
    contenders = {
        "siprec-recorder decode (fast path)": [
            CLI,
            "decode",
            str(long),
            "--out",
            str(work / "fast"),
        ],
        "siprec-recorder decode (fast path), irregular stream": [
            CLI,
            "decode",
            str(irregular),
            "--out",
            str(work / "irregular"),
        ],
        "siprec-recorder decode (general path)": [
            CLI,
            "decode",
            str(long),
            "--out",
            str(work / "general"),
            "--general",
        ],
        "PyAV (FFmpeg) to WAV": [PY, "-c", PYAV, str(long), str(work / "pyav.wav")],
        "ebmlite walk (no output)": [PY, "-c", EBMLITE, str(long)],
        "floor: read + write same bytes": [PY, "-c", FLOOR, str(long), str(work / "floor.bin")],
        "siprec-recorder decode of an empty file (startup only)": [
            CLI,
            "decode",
            str(empty),
            "--out",
            str(work / "empty"),
        ],
        "bound: CPython gathering the payloads, no checks": [
            PY,
            "-c",
            BOUND,
            str(long),
            str(work / "bound.wav"),
        ],
        "bound: CPython finding every block run, no gather": [
            PY,
            "-c",
            BOUND,
            str(long),
            str(work / "bound-nogather.bin"),
            "--no-gather",
        ],
    }
    # the CLI runs the package as installed: with its bytecode (pip compiles it on install, the
    # layer's Makefile too); the editable checkout has none, and PYTHONDONTWRITEBYTECODE may be set
    installed = {**os.environ, "PYTHONPATH": str(package_layer())}
    results = {}
    for name, cmd in contenders.items():
        runs = 1 if name.startswith("ebmlite") else RUNS
        results[name] = best(cmd, runs, installed if cmd[0] == CLI else None)
        print(f"  {name}: {results[name].wall:.2f} s", file=sys.stderr)
    pyav_wav = digest(work / "pyav.wav")
    run_once([PY, "-c", PYAV, str(irregular), str(work / "pyav-irregular.wav")])
    if digest(work / "irregular" / "AUDIO.wav") != digest(work / "pyav-irregular.wav"):
        raise RuntimeError("the irregular stream's WAV differs from PyAV's")
    for sub in ("fast/AUDIO.wav", "general/AUDIO.wav", "bound.wav"):
        if digest(work / sub) != pyav_wav:
            raise RuntimeError(f"{sub} differs from PyAV's WAV")
    pyav, floor = results["PyAV (FFmpeg) to WAV"], results["floor: read + write same bytes"]
    print(
        f"\nDecoder benchmark: 2-hour Chime-style stream ({size_mb:.0f} MB, 3600 fragments, "
        "360000 frames), whole processes, best of 3 (ebmlite: 1 run)\n"
    )
    print(machine_header() + "\n")
    headers = ["contender", "wall s", "CPU s", "PyAV / this (wall)", "this / floor (wall)"]
    rows = [
        [
            name,
            f"{r.wall:.2f}",
            f"{r.cpu:.2f}",
            f"{pyav.wall / r.wall:.2f}x",
            f"{r.wall / floor.wall:.2f}x",
            f"{r.rss_mb:.0f}",
        ]
        for name, r in results.items()
    ]
    print(markdown_table([*headers, "peak RSS MB"], rows))
    print(
        "\nAll WAVs identical to PyAV's, byte for byte. The irregular stream is the same length "
        "with fragments of 99, 100 or 101 frames and +-1 ms of block jitter in every third, "
        "as real Chime streams. The CLI runs the package with its bytecode, as installed. The "
        "bounds are not decoders: they know this stream's layout and check nothing; the first "
        "writes the right WAV, the second only finds every run and writes as many bytes.\n"
    )
    flat = {
        "15 min": best([CLI, "decode", str(short), "--out", str(work / "short")], 1, installed),
        "2 h": results["siprec-recorder decode (fast path)"],
    }
    rows = [[label, f"{r.wall:.2f}", f"{r.rss_mb:.0f}"] for label, r in flat.items()]
    print(markdown_table(["call length (fast path)", "wall s", "peak RSS MB"], rows))


if __name__ == "__main__":
    main()
