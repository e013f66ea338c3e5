"""How the two encoders (embedder and reader) run: fp32 torch, or int8 by torch's dynamic quantization.

Dynamic quantization keeps every Linear layer's weights in int8 and quantizes activations on the
fly (fbgemm kernels, AVX2 is enough): no export step and nothing written to disk, it takes about a
second at load. Whether it may be the default is decided by measurement (``rag bench --only
runtime``: speed, and agreement with fp32 on vectors, retrieval and reader EM/F1).
"""

from __future__ import annotations

RUNTIMES = ("torch", "int8")


def prepare(module, runtime: str):
    """``module`` ready to run in ``runtime`` (the same module for torch; an int8 copy for int8)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose from {', '.join(RUNTIMES)}")
    if runtime == "torch":
        return module
    import torch

    engines = torch.backends.quantized.supported_engines
    torch.backends.quantized.engine = "fbgemm" if "fbgemm" in engines else "qnnpack"
    return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)
