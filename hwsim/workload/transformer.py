"""Transformer decoders (Llama-style) as hwsim networks: prefill and decode.

A decoder layer is the Llama block, one kernel per op as a kernel-by-kernel
(unfused) runtime executes it::

    attn_norm (RMSNorm) -> q_proj, k_proj, v_proj -> rope_q, rope_k -> qk (QK^T)
    -> softmax -> av (AV) -> o_proj -> attn_add -> mlp_norm -> gate, up -> swiglu
    -> down -> mlp_add

after an ``embed`` gather and before ``final_norm`` and ``lm_head``. Conventions
(``docs/transformers.md`` says why):

* ``prefill``: every sequence of the batch feeds ``context`` tokens at once;
  attention is over ``context`` keys and counts the **full** score matrix
  (``context x context`` per head, as a dense kernel computes it before masking;
  the same convention as Kaplan et al. 2020 and the PaLM MFU formula). The LM
  head runs on every token (``all_logits=False``: the last token only).
* ``decode``: one step, one new token per sequence. ``generated = g`` is the step
  that produces the g-th generated token: the KV cache holds ``context + g - 1``
  tokens and the new token attends over ``context + g`` keys (cache plus itself).
  The mean over g steps is, for costs linear in the keys, the step at the mean
  position; build the steps you need.
* Q/K/V/O, gate/up/down and the LM head are ``matmul`` layers (``batch`` = the
  sequences, ``m`` = tokens per sequence; their weights are the model's).
* QK^T and AV are *grouped* matmuls, one group per (sequence, kv head): in QK^T
  the group's ``heads / kv_heads`` query heads are the rows (``p``) and the
  group's K (keys x head_dim) is the layer's weight tensor; in AV the
  probabilities are the input and V is the weight. So the K and V read from
  memory -- the KV cache in decode -- are the layers' weight bytes, and a
  roofline sees decode attention as memory-bound. K and V are held at the output
  precision (they are projection outputs).
* RMSNorm, rotary, softmax, SiLU*mul and the embedding gather are vector layers
  with explicit op and byte counts (``OPS_PER_ELEMENT``).

The graph carries the real edges (K and V feed QK^T and AV as their weight
operand), so it is built with ``check_shapes=False``: the network's edge check
knows only one input tensor per layer.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, fields

from ..errors import WorkloadError
from .graph import GraphBuilder
from .layer import MAX_DIM, Layer, eltwise, matmul, tensor_bits
from .network import Network

__all__ = ["DecoderConfig", "MODELS", "OPS_PER_ELEMENT", "PHASES", "decoder", "decoder_config", "model_names"]

PHASES = ("prefill", "decode")

# Vector ops per output element of each non-GEMM op (the roofline's vector lanes run
# one per cycle): RMSNorm = square, accumulate, scale by 1/rms, times gamma; rotary =
# x*cos + rot(x)*sin (two multiplies, one add); softmax = max, subtract, exp, sum,
# divide (the 1/sqrt(head_dim) scale is folded into QK^T); SwiGLU = SiLU(gate) =
# gate * sigmoid(gate) (negate, exp, add, divide, multiply) times up; the embedding
# gather copies one element per output element.
OPS_PER_ELEMENT = {"rmsnorm": 4, "rotary": 3, "softmax": 5, "swiglu": 6, "embed": 1}
TOKEN_ID_BYTES = 4                          # int32 token ids read by the embedding gather


@dataclass(frozen=True)
class DecoderConfig:
    """The shape of a Llama-style decoder; ``head_dim = d_model / heads``."""

    name: str
    layers: int
    d_model: int
    heads: int
    kv_heads: int
    d_ff: int
    vocab: int

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads

    @property
    def kv_dim(self) -> int:
        """Width of K (and of V) per token: kv_heads x head_dim."""
        return self.kv_heads * self.head_dim

    @property
    def layer_gemm_params(self) -> int:
        """Weights of one decoder layer's GEMMs: Q and O (d x d), K and V (d x kv_dim),
        gate, up and down (d x d_ff)."""
        return 2 * self.d_model * self.d_model + 2 * self.d_model * self.kv_dim + 3 * self.d_model * self.d_ff

    @property
    def gemm_params(self) -> int:
        """Weights every token multiplies: all layers' GEMMs and the LM head (not the
        embedding table, which is gathered, nor the norm gains)."""
        return self.layers * self.layer_gemm_params + self.vocab * self.d_model

    @property
    def params(self) -> int:
        """All parameters: GEMMs, LM head, embedding table (untied) and RMSNorm gains."""
        norms = (2 * self.layers + 1) * self.d_model
        return self.gemm_params + self.vocab * self.d_model + norms


# Published configs (Hugging Face config.json of each model).
MODELS: dict[str, DecoderConfig] = {
    "llama2-7b": DecoderConfig("llama2-7b", 32, 4096, 32, 32, 11008, 32000),
    "llama3.1-8b": DecoderConfig("llama3.1-8b", 32, 4096, 32, 8, 14336, 128256),
    "mistral-7b": DecoderConfig("mistral-7b", 32, 4096, 32, 8, 14336, 32000),
}
CONFIG_FIELDS = tuple(f.name for f in fields(DecoderConfig) if f.name != "name")


def model_names() -> list[str]:
    return sorted(MODELS)


def _is_positive_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= 1


def decoder_config(config) -> DecoderConfig:
    """A :class:`DecoderConfig` from a model name, a config, or a dict with exactly
    the keys ``layers, d_model, heads, kv_heads, d_ff, vocab`` (and optionally
    ``name``); a bad value is a WorkloadError naming the field and value."""
    if isinstance(config, DecoderConfig):
        config = {f.name: getattr(config, f.name) for f in fields(DecoderConfig)}
    if isinstance(config, str):
        if config not in MODELS:
            raise WorkloadError(f"field 'model' = {config!r}: unknown decoder; valid: {model_names()} "
                                f"or a dict with keys {list(CONFIG_FIELDS)}")
        return MODELS[config]
    if not isinstance(config, Mapping):
        raise WorkloadError(f"field 'config' = {config!r}: expected a model name {model_names()} or a dict "
                            f"with keys {list(CONFIG_FIELDS)}")
    name = config.get("name", "decoder")
    where = f"decoder '{name}'"
    for key in config:
        if key not in CONFIG_FIELDS + ("name",):
            raise WorkloadError(f"{where}: field {key!r} = {config[key]!r}: unknown key; valid: {list(CONFIG_FIELDS)}")
    for key in CONFIG_FIELDS:
        if key not in config:
            raise WorkloadError(f"{where}: field {key!r} is missing; a decoder config needs {list(CONFIG_FIELDS)}")
        if not _is_positive_int(config[key]):
            raise WorkloadError(f"{where}: field {key!r} = {config[key]!r}: expected an integer >= 1")
    if not isinstance(name, str) or not name:
        raise WorkloadError(f"decoder config: field 'name' = {name!r}: expected a non-empty string")
    if config["d_model"] % config["heads"]:
        raise WorkloadError(f"{where}: field 'heads' = {config['heads']!r}: must divide d_model = "
                            f"{config['d_model']} (head_dim = d_model / heads)")
    if config["heads"] % config["kv_heads"] or config["kv_heads"] > config["heads"]:
        raise WorkloadError(f"{where}: field 'kv_heads' = {config['kv_heads']!r}: must divide heads = "
                            f"{config['heads']} (grouped-query attention shares a kv head among heads / kv_heads)")
    return DecoderConfig(name=name, **{key: int(config[key]) for key in CONFIG_FIELDS})


def _check_run(where: str, phase, batch, context, generated) -> None:
    if phase not in PHASES:
        raise WorkloadError(f"{where}: field 'phase' = {phase!r}: expected one of {list(PHASES)}")
    for field, value in (("batch", batch), ("context", context), ("generated", generated)):
        if not _is_positive_int(value):
            raise WorkloadError(f"{where}: field '{field}' = {value!r}: expected an integer >= 1")


@dataclass(frozen=True)
class _Shape:
    """Sizes of one run: ``b`` sequences of ``t`` new tokens attending over ``keys``."""

    cfg: DecoderConfig
    b: int
    t: int
    keys: int
    logit_rows: int
    bits: dict
    tp: int = 1

    # Per-device widths under ``tp``-way tensor parallelism (Megatron-LM's split):
    # heads, kv heads, d_ff and the vocabulary are divided over the devices; norms,
    # residual adds and the embedding are replicated. With fewer kv heads than
    # devices each kv head is replicated on tp / kv_heads devices.
    @property
    def heads(self) -> int:
        return self.cfg.heads // self.tp

    @property
    def kv_heads(self) -> int:
        return max(1, self.cfg.kv_heads // self.tp)

    @property
    def d_ff(self) -> int:
        return self.cfg.d_ff // self.tp

    @property
    def vocab(self) -> int:
        return -(-self.cfg.vocab // self.tp)

    @property
    def act_bytes(self) -> float:
        return self.bits["output_bits"] / 8

    @property
    def tensors(self) -> dict:
        """``bits`` as the constructors take it: {"input": .., "weight": .., "output": ..}."""
        return {key[:-5]: value for key, value in self.bits.items()}

    @property
    def rep(self) -> int:
        return self.heads // self.kv_heads


class _DecoderBuilder(GraphBuilder):
    """GraphBuilder with the layer kinds of a decoder; every layer sees ``_Shape``."""

    def __init__(self, name: str, shape: _Shape):
        super().__init__(name)
        self.s = shape

    def gemm(self, name, source, n_out, k_in, rows=None) -> Layer:
        s = self.s
        return self.add(matmul(name, s.t if rows is None else rows, n_out, k_in, batch=s.b, bits=s.tensors), source)

    def vector(self, name, sources, width, kind, read_elems, extra_read_bytes=0.0, op="vector") -> Layer:
        """A vector layer writing ``b x t x width`` elements, reading ``read_elems``
        activations plus ``extra_read_bytes`` of tables (gains, cos/sin, token ids)."""
        s = self.s
        out = s.b * s.t * width
        layer = Layer(name=name, op=op, n=s.b, k=width, c=width, p=s.t, q=1, groups=width, in_size=(s.t, 1),
                      **s.bits, vector_ops=OPS_PER_ELEMENT[kind] * out,
                      read_bytes=int(read_elems * s.bits["input_bits"] / 8 + extra_read_bytes),
                      write_bytes=int(out * s.act_bytes))
        return self.add(layer, *sources)

    def norm(self, name, source) -> Layer:
        d = self.s.cfg.d_model
        gains = d * self.s.bits["weight_bits"] / 8
        return self.vector(name, [source], d, "rmsnorm", self.s.b * self.s.t * d, gains)

    def rotary(self, name, source, width) -> Layer:
        s = self.s
        tables = 2 * s.t * s.cfg.head_dim * s.act_bytes          # cos and sin at each position
        return self.vector(name, [source], width, "rotary", s.b * s.t * width, tables)

    def attention(self, name, q, kv, scores) -> Layer:
        """QK^T (``scores=True``: K is the weight) or AV (V is the weight): one group per
        (sequence, kv head), the group's query heads as rows."""
        s = self.s
        groups, hd = s.b * s.kv_heads, s.cfg.head_dim
        c, k = (hd, s.keys) if scores else (s.keys, hd)
        bits = {"input_bits": s.bits["output_bits"], "weight_bits": s.bits["output_bits"],
                "output_bits": s.bits["output_bits"]}
        layer = Layer(name=name, op="matmul", n=1, k=groups * k, c=groups * c, p=s.t * s.rep, q=1,
                      groups=groups, in_size=(s.t * s.rep, 1), **bits)
        return self.add(layer, q, kv)

    def residual(self, name, a, b) -> Layer:
        s = self.s
        return self.add(eltwise(name, s.cfg.d_model, (s.t, 1), op="add", inputs=2, batch=s.b, bits=s.tensors), a, b)


def _decoder_layer(bld: _DecoderBuilder, i: int, x: Layer) -> Layer:
    s = bld.s
    cfg = s.cfg
    d, qd, kvd, d_ff = cfg.d_model, s.heads * cfg.head_dim, s.kv_heads * cfg.head_dim, s.d_ff
    p = f"l{i}."
    h = bld.norm(p + "attn_norm", x)
    q = bld.rotary(p + "rope_q", bld.gemm(p + "q_proj", h, qd, d), qd)
    k = bld.rotary(p + "rope_k", bld.gemm(p + "k_proj", h, kvd, d), kvd)
    v = bld.gemm(p + "v_proj", h, kvd, d)
    scores = bld.attention(p + "qk", q, k, scores=True)
    b, t = bld.s.b, bld.s.t
    probs = bld.vector(p + "softmax", [scores], s.heads * s.keys, "softmax", b * t * s.heads * s.keys, op="softmax")
    o = bld.gemm(p + "o_proj", bld.attention(p + "av", probs, v, scores=False), d, qd)
    x = bld.residual(p + "attn_add", o, x)
    h = bld.norm(p + "mlp_norm", x)
    gate, up = bld.gemm(p + "gate", h, d_ff, d), bld.gemm(p + "up", h, d_ff, d)
    act = bld.vector(p + "swiglu", [gate, up], d_ff, "swiglu", 2 * b * t * d_ff)
    return bld.residual(p + "mlp_add", bld.gemm(p + "down", act, d, d_ff), x)


def _check_tp(where: str, cfg: DecoderConfig, tp) -> None:
    if not _is_positive_int(tp):
        raise WorkloadError(f"{where}: field 'tp' = {tp!r}: expected an integer >= 1 (devices of tensor parallelism)")
    if cfg.heads % tp or cfg.d_ff % tp:
        raise WorkloadError(f"{where}: field 'tp' = {tp!r}: must divide heads = {cfg.heads} and d_ff = {cfg.d_ff}")
    if cfg.kv_heads % tp and tp % cfg.kv_heads:
        raise WorkloadError(f"{where}: field 'tp' = {tp!r}: must divide kv_heads = {cfg.kv_heads} or be a "
                            "multiple of it (each kv head then replicated)")


def run_shape(config, phase: str, batch: int, context: int, generated: int = 1, bits=16,
              all_logits: bool = True, tp: int = 1) -> _Shape:
    """The sizes of one run on one of ``tp`` devices (validated): tokens per sequence,
    keys attended, logit rows."""
    cfg = decoder_config(config)
    where = f"decoder '{cfg.name}'"
    _check_run(where, phase, batch, context, generated)
    _check_tp(where, cfg, tp)
    precision = tensor_bits(bits, where)
    t = context if phase == "prefill" else 1
    keys = context if phase == "prefill" else context + generated
    if batch * cfg.kv_heads * keys > MAX_DIM:      # QK^T has one group of `keys` outputs per (sequence, kv head)
        raise WorkloadError(f"{where}: field 'batch' = {batch!r}: batch x kv_heads x keys = {batch} x "
                            f"{cfg.kv_heads} x {keys} exceeds {MAX_DIM} (2**24), hwsim's largest layer "
                            "dimension; split the batch")
    return _Shape(cfg, int(batch), int(t), int(keys), t if all_logits else 1, precision, int(tp))


def decoder(config, phase: str, batch: int, context: int, generated: int = 1, bits=16, name: str | None = None,
            *, all_logits: bool = True, tp: int = 1) -> Network:
    """A decoder-only transformer as a :class:`Network`, one layer per kernel.

    ``config``: a name of :data:`MODELS` or a dict (see :func:`decoder_config`);
    ``phase``: ``"prefill"`` (``batch x context`` tokens) or ``"decode"`` (one token
    per sequence at step ``generated`` after a ``context``-token prompt; see the
    module docstring); ``bits``: an int or ``{"input", "weight", "output"}``;
    ``all_logits``: prefill computes the LM head on every token (else the last);
    ``tp``: the network one of ``tp`` tensor-parallel devices runs (heads, kv heads,
    d_ff and vocabulary split; the all-reduces after ``o_proj`` and ``down`` are not
    layers: ``hwsim.rdu`` prices them on the interconnect).
    Layer names: ``embed``, ``l{i}.{op}``, ``final_norm``, ``lm_head``.
    """
    s = run_shape(config, phase, batch, context, generated, bits, all_logits, tp)
    cfg = s.cfg
    if name is None:
        name = (f"{cfg.name}-{phase}-b{batch}-c{context}" + (f"-g{generated}" if phase == "decode" else "")
                + (f"-tp{tp}" if tp > 1 else ""))
    bld = _DecoderBuilder(name, s)
    x = bld.vector("embed", [], cfg.d_model, "embed", 0,
                   s.b * s.t * (cfg.d_model * s.bits["weight_bits"] / 8 + TOKEN_ID_BYTES))
    for i in range(cfg.layers):
        x = _decoder_layer(bld, i, x)
    x = bld.norm("final_norm", x)
    bld.gemm("lm_head", x, s.vocab, cfg.d_model, rows=s.logit_rows)
    return bld.network(check_shapes=False)
