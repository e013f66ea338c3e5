"""Turn a built torch encoder into an ONNX file for ONNX Runtime: export, fuse, quantize.

Why each step (measured side by side on the 2-core machine, 1 thread, under load; see the commit):

1. Export with the TorchScript exporter (``dynamo=False``: no onnxscript needed) from the model
   loaded with eager attention: with SDPA attention ORT's optimizer recognizes no attention at all.
2. Fuse with ORT's transformer optimizer (``model_type="bert"``): each layer's attention becomes one
   ``Attention`` node, LayerNorm + residual one ``SkipLayerNormalization``, bias + GELU one node.
3. int8 (``onnx-int8``): dynamic quantization (weights int8 per output channel, activations on the
   fly) of the MatMul and Attention nodes. All of them for the embedder (query 4.6x faster than
   torch, passage vectors cosine ≥ 0.99); only the top half and the span head for the reader (int8
   in its bottom layers changed a third of best spans; the top half alone 1 in 10 on 40 questions).

The embedder's graph includes mean pooling and L2 normalization (what e5's sentence-transformers
folder does), so one session gives finished vectors.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

from ..model import ModelError

OPSET = 17
INPUTS = ("input_ids", "attention_mask")
OUTPUTS = {"embedder": ("vector",), "reader": ("start_logits", "end_logits")}


class OnnxError(ModelError):
    """An ONNX export could not be made, or does not behave like the torch model it came from."""


def transformer_folder(source: Path) -> Path:
    """The Hugging Face folder inside a sentence-transformers folder, once it is known to be mean-pooled
    and normalized (the only pooling the exported graph does)."""
    modules = json.loads((source / "modules.json").read_text(encoding="utf-8"))
    kinds = {m["type"].rsplit(".", 1)[-1]: source / m.get("path", "") for m in modules}
    pooling = json.loads((kinds.get("Pooling", source / "-") / "config.json").read_text(encoding="utf-8")) \
        if "Pooling" in kinds else {}
    if not pooling.get("pooling_mode_mean_tokens") or "Normalize" not in kinds:
        raise OnnxError(f"the ONNX runtimes export mean-pooled, normalized sentence-transformers models; "
                        f"{source} is not one: use RAG_RUNTIME=torch")
    return kinds["Transformer"]


def _module(kind: str, source: Path):
    """The torch model of ``kind`` as a module from (input_ids, attention_mask) to its outputs."""
    import torch
    from transformers import AutoModel, XLMRobertaForQuestionAnswering
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a bar for loading ~200 local tensors is noise

    class Span(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask)
            return out.start_logits, out.end_logits

    class MeanPooled(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    if kind == "reader":
        return Span(XLMRobertaForQuestionAnswering.from_pretrained(str(source), attn_implementation="eager").eval())
    model = AutoModel.from_pretrained(str(transformer_folder(source)), attn_implementation="eager", add_pooling_layer=False)
    return MeanPooled(model.eval())


def int8_nodes(graph, kind: str, layers: int) -> list[str] | None:
    """The nodes ``onnx-int8`` quantizes: None (all) for the embedder; for the reader those of
    encoder layers ``layers // 2`` and up plus the span head. Fused Attention nodes carry no layer
    name, so they are numbered in graph order (one per layer, bottom first)."""
    if kind == "embedder":
        return None
    chosen, attention = [], 0
    for node in graph.node:
        if node.op_type == "Attention":
            layer, attention = attention, attention + 1
        elif node.op_type == "MatMul":
            match = re.search(r"layer\.(\d+)/", node.name)
            layer = int(match.group(1)) if match else layers  # no layer: the span head
        else:
            continue
        if layer >= layers // 2:
            chosen.append(node.name)
    return chosen


def export(kind: str, source: Path, target: Path, int8: bool) -> dict:
    """Write ``target`` (an .onnx file) from the torch model of ``kind`` at ``source``; what was done."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    module = _module(kind, Path(source))
    config = module.model.config
    raw, fused = target.with_suffix(".raw.onnx"), target.with_suffix(".fused.onnx")
    dims = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    dims.update({name: {0: "batch", 1: "tokens"} if kind == "reader" else {0: "batch"} for name in OUTPUTS[kind]})
    ids = torch.tensor([[0, 6, 7, 8, 9, 2], [0, 10, 11, 2, 1, 1]])
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent Python branches
            torch.onnx.export(module, (ids, (ids != 1).long()), str(raw), input_names=list(INPUTS),
                              output_names=list(OUTPUTS[kind]), dynamic_axes=dims, opset_version=OPSET, dynamo=False)
        optimized = optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                                   hidden_size=config.hidden_size)
        optimized.save_model_to_file(str(fused))
        fusions = sum(node.op_type == "Attention" for node in optimized.model.graph.node)
        done = {"fused_attention_layers": fusions, "layers": config.num_hidden_layers}
        if not int8:
            fused.replace(target)
            return done
        nodes = int8_nodes(onnx.load(str(fused), load_external_data=False).graph, kind, config.num_hidden_layers)
        quantize_dynamic(str(fused), str(target), op_types_to_quantize=["MatMul", "Attention"], nodes_to_quantize=nodes,
                         per_channel=True, weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        return {**done, "int8_nodes": "all MatMul and Attention" if nodes is None else len(nodes)}
    finally:
        raw.unlink(missing_ok=True)
        fused.unlink(missing_ok=True)
