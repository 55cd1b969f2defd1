"""A stand-in WD14 model built with ``onnx.helper`` for tests, benchmarks and the GPU check.

Same signature as the real taggers (NHWC float32 BGR input [batch, size, size, 3], one output
[batch, n_tags] of sigmoid probabilities) and a matching ``selected_tags.csv``. The output depends
on the image (mean colour of each quadrant, or a conv stack for benchmarks). Needs the ``onnx``
package (a dev dependency), imported inside the builder.
"""

from __future__ import annotations

import csv
import os

import numpy as np

RATINGS = ["general", "sensitive", "questionable", "explicit"]
GENERAL_TAGS = [
    "1girl", "solo", "long_hair", "short_hair", "red_hair", "blue_eyes", "smile", "blush", "open_mouth",
    "simple_background", "white_background", "outdoors", "sky", "^_^", ">_<", "ke-ta_(artist)",
    "holding_weapon", "school_uniform", "bow", "hat",
]
CHARACTER_TAGS = ["hatsune_miku", "hakurei_reimu", "kirisame_marisa", "original_character"]


def write_labels(path: str, general=GENERAL_TAGS, character=CHARACTER_TAGS) -> list[str]:
    names = list(RATINGS) + list(general) + list(character)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tag_id", "name", "category", "count"])
        for i, n in enumerate(names):
            cat = 9 if i < len(RATINGS) else (0 if i < len(RATINGS) + len(general) else 4)
            w.writerow([i + 1000, n, cat, 10000 - i])
    return names


def build_standin(folder: str, size: int = 32, batch: int | None = None, n_tags: int | None = None,
                  width: int = 0, depth: int = 0, seed: int = 0, labels: bool = True) -> str:
    """Write ``model.onnx`` (+ ``selected_tags.csv``) into ``folder``; returns the folder.

    ``batch``: None for a free batch axis, an int for a fixed one. ``width``/``depth`` > 0 add a
    conv stack (stride-4 stem to ``width`` channels, then ``depth`` 3x3 convs) with roughly the
    compute profile of a small real tagger, for benchmarks.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    os.makedirs(folder, exist_ok=True)
    if labels:
        n_tags = len(write_labels(os.path.join(folder, "selected_tags.csv")))
    n_tags = n_tags or len(RATINGS) + len(GENERAL_TAGS) + len(CHARACTER_TAGS)
    rng = np.random.default_rng(seed)
    bdim = batch if batch is not None else "batch"
    x = helper.make_tensor_value_info("input_1:0", TensorProto.FLOAT, [bdim, size, size, 3])
    y = helper.make_tensor_value_info("predictions_sigmoid", TensorProto.FLOAT, [bdim, n_tags])
    inits = [numpy_helper.from_array(np.array([1 / 255.0], np.float32), "scale")]
    nodes = [helper.make_node("Mul", ["input_1:0", "scale"], ["xs"])]
    if depth <= 0:
        # mean colour of each quadrant: 12 features
        half = size // 2
        inits.append(numpy_helper.from_array(np.array([-1, 2, half, 2, half, 3], np.int64), "shape6"))
        inits.append(numpy_helper.from_array(np.array([-1, 12], np.int64), "shape2"))
        nodes += [
            helper.make_node("Reshape", ["xs", "shape6"], ["x6"]),
            helper.make_node("ReduceMean", ["x6"], ["m"], axes=[2, 4], keepdims=0),
            helper.make_node("Reshape", ["m", "shape2"], ["feat"]),
        ]
        n_feat = 12
        w = rng.normal(0, 3.0, (n_feat, n_tags)).astype(np.float32)
    else:
        nodes.append(helper.make_node("Transpose", ["xs"], ["xc"], perm=[0, 3, 1, 2]))
        inits.append(numpy_helper.from_array(rng.normal(0, 0.2, (width, 3, 4, 4)).astype(np.float32), "w0"))
        nodes.append(helper.make_node("Conv", ["xc", "w0"], ["c0"], strides=[4, 4]))
        nodes.append(helper.make_node("Relu", ["c0"], ["r0"]))
        last = "r0"
        for i in range(1, depth + 1):
            inits.append(numpy_helper.from_array(
                rng.normal(0, (2.0 / (9 * width)) ** 0.5, (width, width, 3, 3)).astype(np.float32), f"w{i}"))
            nodes.append(helper.make_node("Conv", [last, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
            nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
            last = f"r{i}"
        inits.append(numpy_helper.from_array(np.array([-1, width], np.int64), "shape2"))
        nodes += [helper.make_node("GlobalAveragePool", [last], ["gp"]),
                  helper.make_node("Reshape", ["gp", "shape2"], ["feat"])]
        n_feat = width
        w = rng.normal(0, 3.0 / n_feat ** 0.5, (n_feat, n_tags)).astype(np.float32)
    inits.append(numpy_helper.from_array(w, "W"))
    inits.append(numpy_helper.from_array(rng.normal(-1.0, 1.0, n_tags).astype(np.float32), "B"))
    nodes += [helper.make_node("MatMul", ["feat", "W"], ["mm"]),
              helper.make_node("Add", ["mm", "B"], ["logits"]),
              helper.make_node("Sigmoid", ["logits"], ["predictions_sigmoid"])]
    graph = helper.make_graph(nodes, "wd14-standin", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="loratui-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    return folder
