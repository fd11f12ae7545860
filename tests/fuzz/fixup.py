#!/usr/bin/env python3
"""Applies the `plan_mutated` target's fix-up (declared length, CRC-32) to a crash input,
so the file parses exactly as the fuzz target saw it:
    tests/fuzz/fixup.py <crash file> <out file>
Regression blobs under tests/data/fuzz-regressions/ are stored fixed up."""
import struct, sys, zlib

b = bytearray(open(sys.argv[1], "rb").read())
if len(b) >= 16:
    declared = struct.unpack_from("<I", b, 8)[0]
    if declared > len(b) or declared < 16:
        struct.pack_into("<I", b, 8, len(b))
        declared = len(b)
    struct.pack_into("<I", b, 12, zlib.crc32(bytes(b[16:declared])) & 0xFFFFFFFF)
open(sys.argv[2], "wb").write(b)
