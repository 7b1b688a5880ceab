"""Memory footprint of serving a decoder: weights, KV cache, activations.

* ``weights_bytes``: every parameter (GEMMs, LM head, the untied embedding table,
  the RMSNorm gains) at the weight precision.
* ``kv_cache_bytes_per_token``: K and V of one token of one sequence in every
  layer, ``2 x layers x kv_heads x head_dim`` elements at the output precision
  (K and V are projection outputs); ``kv_cache_bytes`` holds ``batch x context``
  tokens (``context`` = every token a sequence holds: prompt and generated).
* ``activations_bytes``: the peak, over the kernels of one decoder layer, of the
  activations live while that kernel runs -- its activation inputs and outputs
  plus the residual stream held for the skip add -- in the *prefill* of
  ``batch x context`` tokens (the phase with the most activations), executed
  kernel by kernel as :func:`hwsim.workload.transformer.decoder` builds it. K and
  V are not counted here (they are the KV cache). At long context the peak is the
  softmax over the materialised ``heads x context x context`` scores: an unfused
  runtime stores them; a fused attention kernel (FlashAttention, an RDU) does not.
* ``total_bytes`` = weights + KV cache + activations.
"""

from __future__ import annotations

from .transformer import decoder_config, run_shape

__all__ = ["footprint", "kernel_activations"]


def kernel_activations(config, batch: int, context: int) -> dict[str, int]:
    """Activation elements live during each kernel of one prefill decoder layer
    (inputs + outputs + the residual stream when the kernel does not read it)."""
    s = run_shape(config, "prefill", batch, context)
    cfg = s.cfg
    tok = s.b * s.t
    x, q, kv = tok * cfg.d_model, tok * cfg.heads * cfg.head_dim, tok * cfg.kv_dim
    scores, f = tok * cfg.heads * s.keys, tok * cfg.d_ff
    return {                                     # name: live elements; K, V live in the KV cache
        "attn_norm": 2 * x,                      # reads the residual, writes the normed copy
        "q_proj": x + x + q,                     # normed input, residual, Q
        "k_proj": x + x + q,                     # K goes to the cache; Q stays live
        "v_proj": x + x + q,
        "rope_q": x + 2 * q,
        "rope_k": x + q + 2 * kv,                # K rotated before it is cached
        "qk": x + q + scores,
        "softmax": x + 2 * scores,
        "av": x + scores + q,
        "o_proj": x + q + x,
        "attn_add": 3 * x,                       # o_proj output + residual in, sum out
        "mlp_norm": 2 * x,
        "gate": 2 * x + f,
        "up": 2 * x + 2 * f,                     # the gate output stays live
        "swiglu": x + 3 * f,
        "down": x + f + x,
        "mlp_add": 3 * x,
    }


def footprint(config, batch: int, context: int, bits=16) -> dict:
    """Bytes to serve ``batch`` sequences of ``context`` tokens; see the module docstring.
    ``bits``: an int or ``{"input", "weight", "output"}``."""
    s = run_shape(config, "prefill", batch, context, bits=bits)
    cfg = decoder_config(config)
    weight_b, act_b = s.bits["weight_bits"] / 8, s.bits["output_bits"] / 8
    per_token = 2 * cfg.layers * cfg.kv_dim * act_b
    live = kernel_activations(cfg, batch, context)
    peak = max(live, key=live.get)
    weights = cfg.params * weight_b
    kv = per_token * s.b * context
    activations = live[peak] * act_b
    return {
        "model": cfg.name,
        "batch": s.b,
        "context": int(context),
        "params": cfg.params,
        "weights_bytes": weights,
        "kv_cache_bytes_per_token": per_token,
        "kv_cache_bytes": kv,
        "activations_bytes": activations,
        "activations_peak_kernel": peak,
        "total_bytes": weights + kv + activations,
    }
