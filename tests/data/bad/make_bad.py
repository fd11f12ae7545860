"""Regenerates the malformed inputs in this folder (python3, standard library only).

    python3 tests/data/bad/make_bad.py          # images, plans, .npy, labels
    python3 tests/data/bad/make_bad.py --onnx   # also the ONNX cases (needs `onnx`)

Each file is small and wrong in exactly one way; EXPECTED.tsv lists every case with the CLI
command that reads it and the words its one-line error must contain (tests/trust_corpus.rs,
and tests/cli_errors.rs for the first few). The bad plans are derived from `tiny.plan`, the
encoding of tests/cli_support's `tiny_plan()` (tests/trust_corpus.rs checks it is current).
"""
import struct
import sys
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


def npy(descr: str, shape: tuple, data: bytes) -> bytes:
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


# ---- plans derived from tiny.plan (wire layout: src/format/mod.rs) ----
TINY = (HERE / "tiny.plan").read_bytes()


def with_crc(blob: bytearray) -> bytes:
    total = struct.unpack_from("<I", blob, 8)[0]
    struct.pack_into("<I", blob, 12, zlib.crc32(bytes(blob[16:total])) & 0xFFFFFFFF)
    return bytes(blob)


def patched(offset: int, fmt: str, value: int, fix_crc: bool = True) -> bytes:
    blob = bytearray(TINY)
    struct.pack_into(fmt, blob, offset, value)
    return with_crc(blob) if fix_crc else bytes(blob)


tensors_at = struct.unpack_from("<I", TINY, 24)[0]
steps_at = struct.unpack_from("<I", TINY, 32)[0]
data_at = struct.unpack_from("<I", TINY, 40)[0]
flipped = bytearray(TINY)
flipped[data_at + 5] ^= 0x04
files.update({
    # The plan cut after 100 bytes.
    "plan_truncated.plan": TINY[:100],
    # Magic "ECNX".
    "plan_bad_magic.plan": b"ECNX" + TINY[4:],
    # Wire version 5 (this runtime reads 1 to 4).
    "plan_wrong_version.plan": patched(4, "<H", 5, fix_crc=False),
    # One bit flipped in the weights, checksum left as it was.
    "plan_flipped_bit.plan": bytes(flipped),
    # total_len claims 64 KiB.
    "plan_total_len.plan": patched(8, "<I", 0x10000, fix_crc=False),
    # The output tensor's arena offset moved to 4096, past the 32-byte arena (valid CRC).
    "plan_tensor_outside_arena.plan": patched(tensors_at + 24 + 12, "<I", 4096),
    # The FC weights ref points 4 GiB - 64 KiB into the blob (valid CRC).
    "plan_weights_outside_blob.plan": patched(steps_at + 48, "<I", 0xFFFF0000),
    # The step table claims 2^32 - 1 steps (valid CRC).
    "plan_step_count_overflow.plan": patched(36, "<I", 0xFFFFFFFF),
    # The tensor table claims 2^32 - 1 tensors (valid CRC).
    "plan_tensor_count_overflow.plan": patched(28, "<I", 0xFFFFFFFF),
    # The input id names tensor 7 of 2 (valid CRC).
    "plan_input_id.plan": patched(20, "<H", 7),
    # ---- images ----
    # A file of zero bytes with a PNG name.
    "zero_bytes.png": b"",
    # A JPEG start-of-image marker and nothing else.
    "truncated.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    # ---- .npy inputs for the tiny plan (input 2x2x1 = 4 floats) ----
    # Items of 5 floats for a 4-element input.
    "wrong_length.npy": npy("<f4", (1, 5), struct.pack("<5f", *[0.5] * 5)),
    # The magic, then a header that is not a Python dict literal.
    "bad_header.npy": b"\x93NUMPY\x01\x00\x10\x00" + b"not a dict     \n",
    # Complex numbers instead of float32.
    "wrong_dtype.npy": npy("<c8", (1, 4), bytes(32)),
    # ---- labels for ok/ (one image) ----
    # Class 7 for a 3-class plan.
    "labels_out_of_range.txt": b"ok.png 7\n",
    # ---- the valid inputs the cases above are run with ----
    "ok/ok.png": good,
    "ok_labels.npy": npy("<i8", (1,), struct.pack("<q", 0)),
})
(HERE / "ok").mkdir(exist_ok=True)
for name, data in files.items():
    (HERE / name).write_bytes(data)


def onnx_cases():
    """Graphs wrong in one way, built with onnx.helper (unchecked: they are invalid)."""
    import onnx
    from onnx import TensorProto, helper

    def save(name, nodes, in_shape, out_name="output", opset=13, inits=()):
        graph = helper.make_graph(
            nodes, name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(in_shape))],
            [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None)],
            list(inits))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name="make_bad.py")
        model.ir_version = 7
        onnx.save(model, str(HERE / f"{name}.onnx"))

    mk = helper.make_node
    # a = input + output, output = relu(a): a cycle through two nodes.
    save("cyclic", [mk("Add", ["input", "output"], ["a"], name="add"),
                    mk("Relu", ["a"], ["output"], name="relu")], (1, 1, 4, 4))
    # A 1 x 1 x 2^20 x 2^20 input: 2^40 elements (a terabyte of f32) must be refused early.
    save("huge_dims", [mk("Relu", ["input"], ["output"], name="relu")], (1, 1, 1 << 20, 1 << 20))
    # Opset 99 of the default domain: no such opset.
    save("wrong_opset", [mk("Relu", ["input"], ["output"], name="relu")], (1, 1, 4, 4), opset=99)
    # The graph's output is a name no node produces.
    save("dangling_output", [mk("Relu", ["input"], ["r"], name="relu")], (1, 1, 4, 4),
         out_name="nowhere")
    # ConstantOfShape of a literal 4.2e8-element shape (0x19010004, as the onnx fuzz target
    # found it on 2026-12-02): tract would build the constant while typing the model.
    shape = helper.make_tensor("shape", TensorProto.INT64, [1], [0x19010004])
    save("constant_of_shape_huge",
         [mk("Constant", [], ["shape"], name="shape", value=shape),
          mk("ConstantOfShape", ["shape"], ["zeros"], name="zeros",
             value=helper.make_tensor("v", TensorProto.INT64, [1], [0])),
          mk("Cast", ["zeros"], ["zeros_f"], name="cast", to=TensorProto.FLOAT),
          mk("Add", ["input", "zeros_f"], ["output"], name="add")], (1, 1, 4, 4))
    (HERE / "zero_bytes.onnx").write_bytes(b"")


if "--onnx" in sys.argv:
    onnx_cases()
