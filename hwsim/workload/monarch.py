"""The Monarch FFT (Gemm0 -> Mul -> Transpose -> Gemm1) of the SN40L paper's Table I,
and the DRAM traffic of a network partitioned into kernels.

A length-N FFT with N = n0 x n1 (Dao et al., Monarch, ICML 2022; Fu et al.,
FlashFFTConv, 2023) is two small dense DFTs and a twiddle in between. Each of the
``batch`` sequences is an ``n1 x n0`` matrix X:

* ``gemm0``: X @ F0, F0 the ``n0 x n0`` DFT matrix (a weight shared by the batch);
* ``mul``: element-wise by the ``n1 x n0`` twiddle factors (a table read once);
* ``transpose``: to ``n0 x n1`` (no ops; a read and a write);
* ``gemm1``: @ F1, the ``n1 x n1`` DFT matrix.

Values are real at ``bits`` (the DFTs' complex arithmetic as real GEMMs, as
FlashFFTConv runs them on tensor cores; every kernel plan below sees the same
ops, so the ratios between plans do not depend on it). Ops are FLOPs: 2 per MAC
plus the vector ops.

:func:`kernel_bytes` prices a *kernel* (a set of layers run as one) with the
streaming rule of :mod:`hwsim.workload.kernels`: a tensor crosses DRAM when it
enters the kernel from outside (a producer in another kernel, or the network
input), when it leaves it (a consumer in another kernel, or the network output),
and every weight and table is read once per kernel that uses it; tensors between
layers of one kernel stay on chip. With compulsory
traffic and the weights small, the plans of :data:`FUSION_PLANS` move 8, 4 and 2
tensors of ``batch x N`` elements: operational intensity 1 : 2 : 4.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import WorkloadError
from .graph import GraphBuilder
from .kernels import kernel_table
from .layer import Layer, matmul, tensor_bits
from .network import Network

__all__ = ["FUSION_PLANS", "MONARCH_DEFAULTS", "fft_conv", "kernel_bytes", "kernel_ops", "monarch_fft", "monarch_intensities",
           "operational_intensity"]

# Kernel plans of the Monarch FFT: one op per kernel; GPU-style epilogue / prologue
# fusion (the twiddle multiply in Gemm0's epilogue, the transpose in Gemm1's operand
# load: one intermediate round trip through DRAM); everything in one kernel.
FUSION_PLANS = {
    "unfused": (("gemm0",), ("mul",), ("transpose",), ("gemm1",)),
    "partly_fused": (("gemm0", "mul"), ("transpose", "gemm1")),
    "fully_fused": (("gemm0", "mul", "transpose", "gemm1"),),
}
# Sizes: not in sn40l.yaml. N = 2**17 = 256 x 512 is our choice: the power-of-two
# length whose fully-fused intensity (384 ops/B in bf16) is nearest Table I's 410.4;
# batch = sequences x channels (1024: e.g. one sequence through a 1024-channel long
# convolution), large enough that the DFT matrices and twiddles are a small share.
MONARCH_DEFAULTS = {"batch": 1024, "n0": 256, "n1": 512, "bits": 16}


def _check_sizes(name: str, **sizes) -> None:
    for field, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise WorkloadError(f"network '{name}': field '{field}' = {value!r}: expected an integer >= 1")


def _monarch_stage(b: GraphBuilder, prefix: str, source, batch: int, n0: int, n1: int, precision: dict) -> Layer:
    """Gemm0 -> Mul (twiddles) -> Transpose -> Gemm1, layer names prefixed."""
    elems, size = batch * n0 * n1, n0 * n1
    in_b, out_b = precision["input_bits"] / 8, precision["output_bits"] / 8
    bits = {key[:-5]: value for key, value in precision.items()}
    g0 = b.add(matmul(prefix + "gemm0", n1, n0, n0, batch=batch, bits=bits), source)
    mul = b.add(Layer(name=prefix + "mul", op="mul", n=batch, k=n0, c=n0, p=n1, q=1, groups=n0, in_size=(n1, 1),
                      **precision, vector_ops=elems, read_bytes=int(elems * in_b + size * in_b),
                      write_bytes=int(elems * out_b)), g0)
    tr = b.add(Layer(name=prefix + "transpose", op="vector", n=batch, k=n1, c=n1, p=n0, q=1, groups=n1,
                     in_size=(n0, 1), **precision, vector_ops=0, read_bytes=int(elems * in_b),
                     write_bytes=int(elems * out_b)), mul)
    return b.add(matmul(prefix + "gemm1", n0, n1, n1, batch=batch, bits=bits), tr)


def monarch_fft(batch: int = 1024, n0: int = 256, n1: int = 512, bits=16, name: str = "monarch_fft") -> Network:
    """The four-op Monarch FFT of ``batch`` sequences of length ``n0 x n1``."""
    _check_sizes(name, batch=batch, n0=n0, n1=n1)
    b = GraphBuilder(name)
    _monarch_stage(b, "", None, batch, n0, n1, tensor_bits(bits, f"network '{name}'"))
    return b.network()


def fft_conv(batch: int = 1024, n0: int = 256, n1: int = 512, bits=16, name: str = "fft_conv") -> Network:
    """A long convolution as FlashFFTConv computes it (Fu et al., 2023): the Monarch
    FFT of the input, an element-wise product with the kernel's spectrum (a table of
    ``n0 x n1`` values per sequence, read once), and the inverse Monarch FFT."""
    _check_sizes(name, batch=batch, n0=n0, n1=n1)
    precision = tensor_bits(bits, f"network '{name}'")
    elems = batch * n0 * n1
    in_b, out_b = precision["input_bits"] / 8, precision["output_bits"] / 8
    b = GraphBuilder(name)
    spectrum = _monarch_stage(b, "fft.", None, batch, n0, n1, precision)
    kmul = b.add(Layer(name="kernel_mul", op="mul", n=batch, k=n1, c=n1, p=n0, q=1, groups=n1, in_size=(n0, 1),
                       **precision, vector_ops=elems, read_bytes=int(2 * elems * in_b),
                       write_bytes=int(elems * out_b)), spectrum)
    _monarch_stage(b, "ifft.", kmul, batch, n1, n0, precision)      # the spectrum is laid out n0 x n1
    return b.network()


def _check_kernels(network: Network, kernels: Sequence[Sequence[str]]) -> None:
    seen = [name for kernel in kernels for name in kernel]
    for name in seen:
        if name not in network:
            raise WorkloadError(f"network '{network.name}': field 'kernels' names {name!r}: no such layer")
    if sorted(seen) != sorted(layer.name for layer in network) or len(set(seen)) != len(seen):
        raise WorkloadError(f"network '{network.name}': field 'kernels' = {kernels!r}: every layer must be in "
                            "exactly one kernel")


def kernel_bytes(network: Network, kernel: Sequence[str]) -> float:
    """DRAM bytes of one kernel (a set of layer names run as one): the streaming rule of
    :func:`hwsim.workload.kernels.kernel_table`."""
    table = kernel_table(network, [kernel])
    return float(table.hbm_bytes[0] + table.weight_bytes[0])


def kernel_ops(network: Network, kernel: Sequence[str]) -> float:
    """FLOPs of a kernel: 2 per MAC plus the vector ops."""
    return float(kernel_table(network, [kernel]).flops[0])


def operational_intensity(network: Network, kernels: Sequence[Sequence[str]]) -> float:
    """Ops per byte of DRAM traffic of ``network`` run as ``kernels`` (a partition of its layers)."""
    _check_kernels(network, kernels)
    table = kernel_table(network, kernels)
    return float(table.flops.sum() / (table.hbm_bytes.sum() + table.weight_bytes.sum()))


def monarch_intensities(**sizes) -> dict[str, float]:
    """Operational intensity (ops/B) of the Monarch FFT under each plan of FUSION_PLANS."""
    net = monarch_fft(**{**MONARCH_DEFAULTS, **sizes})
    return {plan: operational_intensity(net, kernels) for plan, kernels in FUSION_PLANS.items()}
