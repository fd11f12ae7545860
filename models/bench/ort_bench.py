#!/usr/bin/python3
"""Time ONNX Runtime f32 and int8 (QOperator, U8S8, per-channel) on one model.

The int8 model is quantized with `onnxruntime.quantization.quantize_static`
from the same calibration images edgecnn uses. One thread
(intra_op_num_threads = 1). Prints one JSON line:
{"ort_f32_ms": median, "ort_int8_ms": median, "runs": N}.

Usage: ort_bench.py MODEL.onnx CALIB_DIR --runs N --warmup N
       [--channels 1|3] [--size H] [--scale S] [--mean a,b,c] [--std a,b,c]
       [--int8-cache PATH]
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from onnxruntime import quantization as q


def floats(text):
    return [float(x) for x in text.split(",")]


def load_images(folder, channels, size, scale, mean, std):
    """Calibration images as NCHW float32 arrays, normalised like the CLI."""
    from PIL import Image

    out = []
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith((".png", ".jpg", ".jpeg", ".bmp")):
            continue
        img = Image.open(os.path.join(folder, name))
        img = img.convert("L" if channels == 1 else "RGB").resize((size, size))
        arr = np.asarray(img, dtype=np.float32).reshape(size, size, channels)
        arr = arr * scale
        m = np.resize(np.array(mean, np.float32), channels)
        d = np.resize(np.array(std, np.float32), channels)
        arr = (arr - m) / d
        out.append(arr.transpose(2, 0, 1)[None].astype(np.float32))
    if not out:
        sys.exit(f"ort_bench: no images in {folder}")
    return out


class Reader(q.CalibrationDataReader):
    """Feeds calibration images to quantize_static."""

    def __init__(self, name, images):
        self.it = iter([{name: x} for x in images])

    def get_next(self):
        return next(self.it, None)


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def time_runs(sess, feed, runs, warmup):
    for _ in range(warmup):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("calib")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--scale", type=float, default=1 / 255)
    p.add_argument("--mean", type=floats, default=[0.485, 0.456, 0.406])
    p.add_argument("--std", type=floats, default=[0.229, 0.224, 0.225])
    p.add_argument("--int8-cache", default=None)
    a = p.parse_args()

    images = load_images(a.calib, a.channels, a.size, a.scale, a.mean, a.std)
    f32 = session(a.model)
    name = f32.get_inputs()[0].name
    int8_path = a.int8_cache or a.model.replace(".onnx", ".ort-u8s8.onnx")
    if not os.path.exists(int8_path):
        # Folds Constant nodes into initializers (quantize_static needs the
        # biases as initializers) and adds shape information.
        pre_path = int8_path + ".pre.onnx"
        q.quant_pre_process(a.model, pre_path)
        q.quantize_static(
            pre_path,
            int8_path,
            Reader(name, images),
            quant_format=q.QuantFormat.QOperator,
            activation_type=q.QuantType.QUInt8,
            weight_type=q.QuantType.QInt8,
            per_channel=True,
        )
    int8 = session(int8_path)
    feed = {name: images[0]}
    print(
        json.dumps(
            {
                "ort_f32_ms": time_runs(f32, feed, a.runs, a.warmup),
                "ort_int8_ms": time_runs(int8, feed, a.runs, a.warmup),
                "runs": a.runs,
            }
        )
    )


if __name__ == "__main__":
    main()
