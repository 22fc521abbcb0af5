"""Convert MediaPipe's Face Mesh landmark model (468 points) into weights/face_mesh.

The model and its weights come from the `mediapipe` wheel on PyPI (0.10.14, the
last release that bundles `modules/face_landmark/face_landmark.tflite`), under the
Apache License 2.0, which allows redistribution in an MIT project with the licence
and a notice kept beside the weights. faceswap does not depend on mediapipe (it
pulls opencv-contrib-python and jax, which clash with opencv-python-headless):
this script reads the TFLite flatbuffer once with the `tflite` parser and writes
every constant as a safetensors tensor, with the list of operations as JSON in
the file's metadata; `faceswap.landmarks` runs that list with torch.

    pip download mediapipe==0.10.14 --no-deps -d /tmp/mp
    pip install tflite
    python scripts/convert_face_mesh.py /tmp/mp/mediapipe-0.10.14-*.whl

Only the seven operations this graph uses are converted (conv, depthwise conv,
PReLU, add, 2x2 max pool, channel pad, fp16 dequantize); anything else stops
the conversion rather than writing a model that computes something different.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEMBER = "mediapipe/modules/face_landmark/face_landmark.tflite"
LICENSE_MEMBER = "mediapipe-0.10.14.dist-info/LICENSE"


def _read(source: Path) -> tuple[bytes, bytes | None]:
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as z:
            names = z.namelist()
            lic = next((n for n in names if n.endswith(".dist-info/LICENSE")), None)
            return z.read(MEMBER), (z.read(lic) if lic else None)
    return source.read_bytes(), None


def convert(model_bytes: bytes) -> tuple[dict[str, np.ndarray], list[dict], dict]:
    import tflite

    model = tflite.Model.GetRootAsModel(model_bytes, 0)
    graph = model.Subgraphs(0)
    opnames = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}
    dtypes = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
              tflite.TensorType.INT32: np.int32}

    def constant(index: int) -> np.ndarray | None:
        t = graph.Tensors(index)
        data = model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(data, int) or data.size == 0:
            return None
        return np.frombuffer(data.tobytes(), dtypes[t.Type()]).reshape(t.ShapeAsNumpy())

    consts: dict[int, np.ndarray] = {}
    tensors: dict[str, np.ndarray] = {}
    ops: list[dict] = []

    def weight(index: int, layout: str) -> str:
        name = f"w{index}"
        if name not in tensors:
            w = consts[index]
            if layout == "conv":  # OHWI -> OIHW
                w = w.transpose(0, 3, 1, 2)
            elif layout == "depthwise":  # 1HWC -> C1HW
                w = w.transpose(3, 0, 1, 2)
            elif layout == "prelu":  # 11C -> 1C11
                w = w.reshape(1, -1, 1, 1)
            tensors[name] = np.ascontiguousarray(w.astype(np.float16))
        return name

    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = opnames[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ins, outs = [int(j) for j in op.InputsAsNumpy()], [int(j) for j in op.OutputsAsNumpy()]
        if kind == "DEQUANTIZE":  # fp16 constant -> fp32: keep the constant under the output's index
            consts[outs[0]] = constant(ins[0]).astype(np.float32)
            continue
        for j in ins:
            if j not in consts and j >= 0:
                c = constant(j)
                if c is not None:
                    consts[j] = c.astype(np.float32) if c.dtype == np.float16 else c
        entry: dict = {"op": kind, "out": outs[0]}
        raw = op.BuiltinOptions()
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            opts = (tflite.Conv2DOptions if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions)()
            opts.Init(raw.Bytes, raw.Pos)
            if opts.DilationHFactor() != 1 or opts.FusedActivationFunction() != 0:
                raise SystemExit(f"op {i}: dilation or fused activation not supported")
            entry.update(x=ins[0], w=weight(ins[1], "conv" if kind == "CONV_2D" else "depthwise"),
                         b=weight(ins[2], "bias"), stride=opts.StrideH(),
                         same=opts.Padding() == tflite.Padding.SAME)
        elif kind == "PRELU":
            entry.update(x=ins[0], alpha=weight(ins[1], "prelu"))
        elif kind == "ADD":
            opts = tflite.AddOptions()
            opts.Init(raw.Bytes, raw.Pos)
            if opts.FusedActivationFunction() != 0:
                raise SystemExit(f"op {i}: fused activation not supported")
            entry.update(x=ins[0], y=ins[1])
        elif kind == "MAX_POOL_2D":
            opts = tflite.Pool2DOptions()
            opts.Init(raw.Bytes, raw.Pos)
            if (opts.FilterHeight(), opts.StrideH(), opts.Padding()) != (2, 2, tflite.Padding.VALID):
                raise SystemExit(f"op {i}: only 2x2 VALID max pooling is supported")
            entry.update(x=ins[0])
        elif kind == "PAD":
            pads = consts[ins[1]].reshape(4, 2)  # NHWC
            if pads[:3].any() or pads[3, 0]:
                raise SystemExit(f"op {i}: only padding channels at the end is supported")
            entry.update(x=ins[0], channels=int(pads[3, 1]))
        else:
            raise SystemExit(f"op {i}: {kind} is not supported by faceswap.landmarks")
        ops.append(entry)
    shape = graph.Tensors(graph.Inputs(0)).ShapeAsNumpy().tolist()
    outputs = [int(graph.Outputs(k)) for k in range(graph.OutputsLength())]
    io = {"input": int(graph.Inputs(0)), "size": int(shape[1]), "landmarks": outputs[0], "presence": outputs[1]}
    return tensors, ops, io


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="the mediapipe 0.10.14 wheel, or face_landmark.tflite")
    ap.add_argument("-o", "--out", type=Path, default=ROOT / "weights" / "face_mesh")
    args = ap.parse_args()
    from safetensors.numpy import save_file

    model_bytes, licence = _read(args.source)
    tensors, ops, io = convert(model_bytes)
    args.out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(args.out / "model.safetensors"),
              metadata={"graph": json.dumps(ops), "io": json.dumps(io), "source": f"mediapipe 0.10.14 {MEMBER}"})
    if licence:
        (args.out / "LICENSE").write_bytes(licence)
    n = sum(t.size for t in tensors.values())
    print(f"{args.out / 'model.safetensors'}: {len(ops)} operations, {n:,} weights")


if __name__ == "__main__":
    main()
