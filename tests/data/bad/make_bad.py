"""Regenerates the malformed inputs in this folder (python3, standard library only).

Each file is small and wrong in exactly one way; tests/cli_errors.rs expects a clear
one-line error naming the file, and a non-zero exit, for every one of them.
"""
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).parent


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, rows: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


good = png(4, 4, b"".join(b"\x00" + bytes(range(y * 4, y * 4 + 4)) for y in range(4)))
files = {
    # A PNG whose header claims 100000 x 100000 pixels (valid CRCs): refused before decoding.
    "huge.png": png(100_000, 100_000, b"\x00" * 8),
    # A PNG whose header claims 0 x 0 pixels.
    "empty.png": png(0, 0, b""),
    # A valid PNG cut in the middle of its data.
    "truncated.png": good[: len(good) - 20],
    # Text with an image extension.
    "not_image.png": b"this is not an image\n",
    # Text with an ONNX extension.
    "not_onnx.onnx": b"this is not an ONNX model\n",
    # An ONNX (protobuf ModelProto) prefix: ir_version 7, then a graph field that claims
    # 300 bytes but ends after 6.
    "truncated.onnx": b"\x08\x07\x12\x07pytorch\x3a\xac\x02\x0a\x04\x12\x02ab",
    # Bytes that are not a plan.
    "garbage.plan": bytes((i * 97 + 13) % 256 for i in range(256)),
    # A labels file with a malformed line.
    "bad_labels.txt": b"a.png 1\nb.png one\n",
}
for name, data in files.items():
    (HERE / name).write_bytes(data)
