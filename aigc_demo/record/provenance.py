"""Provenance inside the files: the generation record and an "AI-generated" label.

``embed(path, record)`` writes the record (a JSON-serialisable dict: model, seed,
parameters, app version, ...) into the file itself and next to it:

- PNG: ``iTXt`` text chunks ``aigc:record`` (the JSON), ``AI-generated``, ``Software``,
  ``Description`` and an XMP packet with IPTC's ``trainedAlgorithmicMedia`` source type.
  Chunks are inserted byte-for-byte, so the pixels are never re-encoded.
- WAV: a RIFF ``LIST/INFO`` chunk (``ICMT`` = the JSON, ``INAM``, ``ISFT``, ``IKEY``,
  ``ICRD``) written with the standard library. libsndfile (soundfile) silently drops
  INFO strings longer than ~2 KB, so it is not used for writing; the samples are untouched.
- MP4/MOV/M4V/MKV/WebM: container metadata (``comment`` = the JSON, ``description`` = the
  label). The studio's video backend writes them in its one encode (``video_tags`` through
  ``core.stamp``), and ``embed(..., carried=True)`` then writes only the sidecar; any other
  video gets them by a stream-copy remux with the ffmpeg bundled in ``imageio-ffmpeg``.
- Every file also gets a JSON sidecar ``<file>.json`` (e.g. ``image-x.png.json``).

Every rewrite goes to a temporary file and is renamed over the original (``os.replace``),
so a crash leaves either the old file or the new one, never a half-written one.
``read(path)`` returns the record from the file, or from its sidecar when the file has
none. Records are stored as JSON, so ``read`` returns the JSON form of what was embedded
(tuples come back as lists, ``Path`` values as strings).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import time
import zlib
from pathlib import Path
from typing import Any

from aigc_demo import __version__
from aigc_demo.core.text import AI_LABEL

FILE_LABEL = f"{AI_LABEL.en} · {AI_LABEL.zh}"  # the app's one label, both languages on one line
SOFTWARE = f"AIGC Industry Studio {__version__}"
RECORD_KEY = "aigc:record"  # PNG text key holding the JSON record
LABEL_KEY = "AI-generated"  # PNG text key whose value is FILE_LABEL; also the keyword in titles
IPTC_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

PNG_SUFFIXES = {".png"}
WAV_SUFFIXES = {".wav"}
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm"}
FFMPEG_TIMEOUT_S = 120


def sidecar_path(path: Path | str) -> Path:
    """``image.png`` -> ``image.png.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def embed(path: Path | str, record: dict[str, Any], *, sidecar: bool = True, carried: bool = False) -> bool:
    """Write ``record`` into the file (PNG, WAV, video) and, by default, a JSON sidecar.

    ``carried``: the file was written with this very record inside (``video_tags``), so it
    is left as it is. Returns True when the record is inside the file, False when only the
    sidecar was written (a format without a metadata writer here, e.g. ``.txt`` or ``.gif``).
    Raises ValueError for a file that is not what its suffix says.
    """
    path = Path(path)
    text = _dumps(record)
    suffix = path.suffix.lower()
    if carried:
        in_file = True
    elif suffix in PNG_SUFFIXES:
        _atomic_write_bytes(path, _png_with_text(path.read_bytes(), text))
        in_file = True
    elif suffix in WAV_SUFFIXES:
        _atomic_write_bytes(path, _wav_with_info(path.read_bytes(), _dumps(record, ascii_only=True)))
        in_file = True
    elif suffix in VIDEO_SUFFIXES:
        _remux_with_metadata(path, video_tags(record))
        in_file = True
    else:
        in_file = False
    if sidecar or not in_file:
        _atomic_write_bytes(sidecar_path(path), (_dumps(record, indent=2) + "\n").encode("utf-8"))
    return in_file


def read(path: Path | str) -> dict[str, Any]:
    """The record embedded in ``path`` or, failing that, in its sidecar.

    ``path`` may also be the sidecar itself. Raises FileNotFoundError when neither
    the file nor the sidecar carries a record.
    """
    path = Path(path)
    if path.suffix.lower() == ".json" and path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    record = read_embedded(path) if path.is_file() else None
    if record is not None:
        return record
    side = sidecar_path(path)
    if side.is_file():
        return json.loads(side.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"no provenance record in {path} or {side}")


def read_embedded(path: Path | str) -> dict[str, Any] | None:
    """The record stored inside the file, or None when it has none (sidecar ignored)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in PNG_SUFFIXES:
            text = _png_text_chunks(path.read_bytes()).get(RECORD_KEY)
        elif suffix in WAV_SUFFIXES:
            text = _wav_info(path.read_bytes()).get("ICMT")
        elif suffix in VIDEO_SUFFIXES:
            text = _video_metadata(path).get("comment")
        else:
            return None
    except ValueError:  # malformed container: let the caller fall back to the sidecar
        return None
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def read_labels(path: Path | str) -> dict[str, str]:
    """The human-readable metadata next to the record (label, software, description...)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PNG_SUFFIXES:
        found = _png_text_chunks(path.read_bytes())
        found.pop(RECORD_KEY, None)
    elif suffix in WAV_SUFFIXES:
        found = _wav_info(path.read_bytes())
        found.pop("ICMT", None)
    elif suffix in VIDEO_SUFFIXES:
        found = _video_metadata(path)
        found.pop("comment", None)
    else:
        found = {}
    return found


# ---------------------------------------------------------------- shared helpers


def _dumps(record: dict[str, Any], *, ascii_only: bool = False, indent: int | None = None) -> str:
    if not isinstance(record, dict):
        raise TypeError("record must be a dict")
    return json.dumps(record, ensure_ascii=ascii_only, indent=indent, default=str, sort_keys=True)


def _tmp_for(path: Path) -> Path:
    return path.with_name(f".{path.stem}.prov-{os.getpid()}-{time.monotonic_ns()}.tmp{path.suffix}")


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = _tmp_for(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------- PNG

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_TYPES = {b"tEXt", b"zTXt", b"iTXt"}


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    chunks, pos = [], len(_PNG_SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError("truncated PNG chunk header")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 8 + length + 4
        if end > len(data):
            raise ValueError(f"truncated PNG chunk {kind!r}")
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise ValueError("PNG without IHDR/IEND")
    return chunks


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I4s", len(body), kind) + body + struct.pack(">I", crc)


def _itxt(keyword: str, text: str) -> bytes:
    raw = text.encode("utf-8")
    compressed = len(raw) > 1024
    payload = zlib.compress(raw) if compressed else raw
    # keyword \0 compression-flag compression-method language \0 translated-keyword \0 text
    body = keyword.encode("latin-1") + b"\0" + bytes([int(compressed), 0]) + b"\0\0" + payload
    return _png_chunk(b"iTXt", body)


def _xmp_packet() -> str:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'Iptc4xmpExt:DigitalSourceType="{IPTC_SOURCE_TYPE}" xmp:CreatorTool="{SOFTWARE}"/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def _png_with_text(data: bytes, record_json: str) -> bytes:
    entries = {
        RECORD_KEY: record_json,
        LABEL_KEY: FILE_LABEL,
        "Software": SOFTWARE,
        "Description": f"{FILE_LABEL} Generation record in the '{RECORD_KEY}' text chunk.",
        "XML:com.adobe.xmp": _xmp_packet(),
    }
    ours = {key.encode("latin-1") for key in entries}
    out = [_PNG_SIGNATURE]
    for kind, body in _png_chunks(data):
        if kind in _TEXT_TYPES and body.split(b"\0", 1)[0] in ours:
            continue  # replace an earlier embedding instead of duplicating it
        out.append(_png_chunk(kind, body))
        if kind == b"IHDR":  # text before the image data, where early-stopping readers look
            out.extend(_itxt(key, value) for key, value in entries.items())
    return b"".join(out)


def _png_text_chunks(data: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for kind, body in _png_chunks(data):
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            found[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            found[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            flag, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            found[key.decode("latin-1")] = (zlib.decompress(text) if flag else text).decode("utf-8")
    return found


# ---------------------------------------------------------------- WAV (RIFF LIST/INFO)


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind, size = struct.unpack("<4sI", data[pos : pos + 8])
        if pos + 8 + size > len(data):
            raise ValueError(f"truncated WAV chunk {kind!r}")
        chunks.append((kind, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)  # chunks are padded to an even length
    return chunks


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack("<4sI", kind, len(body)) + body + (b"\0" if len(body) & 1 else b"")


def _wav_with_info(data: bytes, record_json: str) -> bytes:
    fields = {
        "INAM": f"{LABEL_KEY} audio",
        "ISFT": SOFTWARE,
        "IKEY": LABEL_KEY,
        "ICRD": time.strftime("%Y-%m-%d", time.gmtime()),
        "ICMT": record_json,
    }
    info = b"INFO" + b"".join(
        _riff_chunk(key.encode("ascii"), value.encode("utf-8") + b"\0") for key, value in fields.items()
    )
    kept = [
        _riff_chunk(kind, body)
        for kind, body in _riff_chunks(data)
        if not (kind == b"LIST" and body[:4] == b"INFO")
    ]
    body = b"WAVE" + b"".join(kept) + _riff_chunk(b"LIST", info)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _wav_info(data: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for kind, body in _riff_chunks(data):
        if kind != b"LIST" or body[:4] != b"INFO":
            continue
        pos = 4
        while pos + 8 <= len(body):
            key, size = struct.unpack("<4sI", body[pos : pos + 8])
            value = body[pos + 8 : pos + 8 + size].rstrip(b"\0")
            found[key.decode("ascii", "replace")] = value.decode("utf-8", "replace")
            pos += 8 + size + (size & 1)
    return found


# ---------------------------------------------------------------- video (ffmpeg remux)


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def video_tags(record: dict[str, Any]) -> dict[str, str]:
    """The container tags that carry ``record`` in a video (what ``read`` looks for)."""
    return {"comment": _dumps(record), "description": FILE_LABEL, "title": f"{LABEL_KEY} video"}


def _remux_with_metadata(path: Path, tags: dict[str, str]) -> None:
    tmp = _tmp_for(path)
    fmt = {".mkv": "matroska", ".webm": "webm", ".mov": "mov"}.get(path.suffix.lower(), "mp4")
    args = [
        _ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-i", str(path), "-map", "0", "-c", "copy", "-map_metadata", "0",
        *(arg for key, value in tags.items() for arg in ("-metadata", f"{key}={value}")),
    ]  # fmt: skip
    if fmt in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]  # moov first: browsers start playing sooner
    args += ["-f", fmt, str(tmp)]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_S)
        if done.returncode != 0:
            raise ValueError(f"ffmpeg could not remux {path.name}: {done.stderr.strip()[-500:]}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _video_metadata(path: Path) -> dict[str, str]:
    """Global container tags, via ``ffmpeg -f ffmetadata`` (keys lower-cased)."""
    args = [_ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path), "-f", "ffmetadata", "-"]
    done = subprocess.run(args, capture_output=True, timeout=FFMPEG_TIMEOUT_S)
    if done.returncode != 0:
        raise ValueError(f"ffmpeg could not read {path.name}: {done.stderr.decode(errors='replace')[-300:]}")
    return _parse_ffmetadata(done.stdout.decode("utf-8", "replace"))


def _parse_ffmetadata(text: str) -> dict[str, str]:
    """Parse the global section of an FFMETADATA1 file (``\\`` escapes ``=;#\\`` and newline)."""
    found: dict[str, str] = {}
    lines: list[str] = []
    current, i = [], 0
    while i < len(text):  # split on unescaped newlines, keep escapes for the key/value split
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == "\n":
            lines.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    lines.append("".join(current))
    for line in lines:
        if line.startswith("["):  # [STREAM]/[CHAPTER] sections: global tags only
            break
        if not line or line.startswith((";", "#")):
            continue
        key, value, escaped, seen_eq = [], [], False, False
        for ch in line:
            target = value if seen_eq else key
            if escaped:
                target.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == "=" and not seen_eq:
                seen_eq = True
            else:
                target.append(ch)
        if seen_eq:
            found["".join(key).lower()] = "".join(value)
    return found
