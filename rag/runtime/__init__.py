"""How the two encoders (embedder and reader) run: torch (fp32, or ``int8`` by torch's dynamic
quantization) or ONNX Runtime (``onnx`` fp32, ``onnx-int8``; see :mod:`rag.runtime.onnx`).

Dynamic quantization keeps chosen Linear layers' weights in int8, one scale per output channel,
and quantizes activations on the fly (fbgemm kernels; AVX2 is enough): no export step and nothing
written to disk, about a second at load. Which layers may be int8 was measured per model:

- embedder: the feed-forward layers (passage vectors keep cosine ≥ 0.99 to fp32; all layers: 0.987);
- reader: the top layers trained for reading and the span head (int8 in the bottom layers
  moves the no-answer score past the answer's on a plain passage: their error is amplified).

This module holds the torch side; the ONNX runtimes export the same models on first use.
``onnx`` is the default (bench-20261130T233550Z: torch's answers exactly, ``/ask`` p50 0.92x torch's);
both int8 runtimes are faster but moved gold hit@1 by more than 0.01. Whether a runtime may be the default is decided by ``rag bench --only runtime`` (speed side by side,
and agreement with fp32 on vectors, retrieval, answers and reader EM/F1).
"""

from __future__ import annotations

import re
from typing import Callable, Literal, get_args

Runtime = Literal["torch", "int8", "onnx", "onnx-int8"]
RUNTIMES: tuple[str, ...] = get_args(Runtime)
ONNX_RUNTIMES = ("onnx", "onnx-int8")
_LAYER = re.compile(r"\.layer\.(\d+)\.")


def feed_forward(name: str) -> bool:
    """An encoder layer's feed-forward Linear (not attention)."""
    return name.endswith("intermediate.dense") or (name.endswith("output.dense") and "attention" not in name)


def from_layer(first: int) -> Callable[[str], bool]:
    """Linear layers in encoder layers ``first`` and up, and any head after the encoder."""
    def chosen(name: str) -> bool:
        match = _LAYER.search(name)
        return int(match.group(1)) >= first if match else "encoder" not in name and "embeddings" not in name
    return chosen


def check_runtime(runtime: str) -> str:
    """``runtime`` if it is one of :data:`RUNTIMES`, else a ValueError listing them."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose from {', '.join(RUNTIMES)}")
    return runtime


def prepare(module, runtime: str, include: Callable[[str], bool] = lambda name: True):
    """``module`` ready to run in a torch runtime: as is for torch (and for the ONNX runtimes,
    whose export starts from the fp32 module); for int8, the Linear layers ``include`` names quantized."""
    if check_runtime(runtime) != "int8":
        return module
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    engines = torch.backends.quantized.supported_engines
    torch.backends.quantized.engine = "fbgemm" if "fbgemm" in engines else "qnnpack"
    spec = {name: per_channel_dynamic_qconfig for name, layer in module.named_modules()
            if isinstance(layer, torch.nn.Linear) and include(name)}
    return quantize_dynamic(module, spec, dtype=torch.qint8)
