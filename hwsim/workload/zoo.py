"""Model zoo: well-known CNNs as :class:`~hwsim.workload.network.Network` DAGs.

Every network is built layer by layer from the :mod:`hwsim.workload.layer`
constructors, with the real graph edges: a residual add is an ``eltwise(op="add")``
layer with two producers, a U-Net decoder conv has two producers whose outputs it
reads concatenated (channels add up). Shapes are checked along every edge when the
network is built (``Network(..., check_shapes=True)``).

What the zoo models and what it leaves out, for all networks:

* batch norm is folded into the preceding conv and ReLU is fused into its
  producer (neither costs a layer of its own, as on every inference accelerator
  we model); biases are not counted in ``weight_elems``;
* dropout and LRN are omitted (inference; LRN costs no MACs, and Eyeriss' AlexNet
  measurements cover the CONV layers only);
* a fully-connected layer is a :func:`~hwsim.workload.layer.matmul` with ``m = 1``
  row per image and the batch as ``n`` (the conv view N x K x C with P = Q = 1).

Each builder takes ``batch`` (images per inference) and ``bits`` (precision of
every tensor, or ``{"input": .., "weight": .., "output": ..}`` per tensor);
``get_network(name, **kwargs)`` looks a builder up by name.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Sequence

from ..errors import WorkloadError
from .layer import Layer, conv2d, depthwise_conv2d, eltwise, global_avgpool, matmul, pool2d, tensor_bits
from .graph import GraphBuilder, NetworkInput
from .network import Network


# -- the zoo's graph builder --------------------------------------------------------

class _Builder(GraphBuilder):
    """``GraphBuilder`` with the layer kinds the zoo's networks use.

    Layer shapes are derived from the producers (channels = sum of their output
    channels, size = their common output size), so the builders below only state
    what a paper's table states: out channels, kernel, stride, padding.
    """

    def __init__(self, name: str, batch: int, bits):
        super().__init__(name)
        self.batch = batch
        self.bits = bits

    @staticmethod
    def _shape(sources) -> tuple[int, tuple[int, int]]:
        channels = sum(src.k for src in sources)
        return channels, (sources[0].p, sources[0].q)

    def conv(self, name, sources, out_channels, kernel, stride=1, padding=0, groups=1) -> Layer:
        sources = _as_list(sources)
        channels, size = self._shape(sources)
        return self.add(conv2d(name, channels, out_channels, size, kernel, stride, padding, groups,
                               batch=self.batch, bits=self.bits), *sources)

    def dwconv(self, name, source, kernel=3, stride=1, padding=1) -> Layer:
        return self.add(depthwise_conv2d(name, source.k, (source.p, source.q), kernel, stride, padding,
                                         batch=self.batch, bits=self.bits), source)

    def pool(self, name, source, kernel, stride=None, padding=0, kind="max") -> Layer:
        return self.add(pool2d(name, source.k, (source.p, source.q), kernel, stride, padding,
                               batch=self.batch, bits=self.bits, kind=kind), source)

    def gap(self, name, source) -> Layer:
        return self.add(global_avgpool(name, source.k, (source.p, source.q), batch=self.batch,
                                       bits=self.bits), source)

    def add_residual(self, name, a: Layer, b: Layer) -> Layer:
        return self.add(eltwise(name, a.k, (a.p, a.q), op="add", inputs=2, batch=self.batch,
                                bits=self.bits), a, b)

    def fc(self, name, source, out_features) -> Layer:
        features = source.k * source.p * source.q
        return self.add(matmul(name, 1, out_features, features, batch=self.batch, bits=self.bits), source)

    def copy2d(self, name, source, out_size, reads_input: bool) -> Layer:
        """A data-movement-only layer (nearest 2x upsampling or a centre crop), one copy
        per output element; it reads its whole input (upsampling) or only the kept
        window (crop). ``op="vector"``: its own input edge is not shape-checked, its
        consumers are (they read ``k`` channels of ``out_size``)."""
        h, w = source.p, source.q
        oh, ow = out_size
        out_elems = self.batch * source.k * oh * ow
        in_elems = self.batch * source.k * h * w if reads_input else out_elems
        precision = tensor_bits(self.bits, f"layer '{name}'")
        in_bytes, out_bytes = precision["input_bits"] / 8, precision["output_bits"] / 8
        layer = Layer(name=name, op="vector", n=self.batch, k=source.k, c=source.k, p=oh, q=ow,
                      groups=source.k, in_size=(h, w), **precision, vector_ops=out_elems,
                      read_bytes=int(in_elems * in_bytes), write_bytes=int(out_elems * out_bytes))
        return self.add(layer, source)


def _as_list(sources) -> list:
    return list(sources) if isinstance(sources, (list, tuple)) else [sources]


def _check_positive(network: str, field: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:   # numpy ints too
        raise WorkloadError(f"network '{network}': field '{field}' = {value!r}: expected an integer >= 1")


# -- AlexNet (Eyeriss variant) ---------------------------------------------------

def alexnet(batch: int = 1, bits: int = 8) -> Network:
    """AlexNet as measured on Eyeriss (Chen et al., JSSC 2017; Krizhevsky et al. 2012).

    The original two-tower network: CONV2, CONV4 and CONV5 are grouped (groups = 2,
    each group sees half the input channels), CONV1 reads a 227x227 image with an
    11x11 stride-4 filter and no padding (-> 55x55). 3x3 stride-2 max pools follow
    CONV1, CONV2 and CONV5 (55 -> 27, 27 -> 13, 13 -> 6); FC6-FC8 are matmuls
    (9216 -> 4096 -> 4096 -> 1000). Layer names match
    ``shared/reference/eyeriss.yaml`` (CONV1 ... CONV5). 724 M MACs, 61.0 M weights
    per image (Sze et al., Proc. IEEE 2017, Table IV).
    """
    _check_positive("alexnet", "batch", batch)
    tensor_bits(bits, "network 'alexnet'")
    b = _Builder("alexnet", batch, bits)
    x = NetworkInput(3, 227, 227)
    x = b.conv("CONV1", x, 96, 11, stride=4, padding=0)
    x = b.pool("POOL1", x, 3, stride=2)
    x = b.conv("CONV2", x, 256, 5, padding=2, groups=2)
    x = b.pool("POOL2", x, 3, stride=2)
    x = b.conv("CONV3", x, 384, 3, padding=1)
    x = b.conv("CONV4", x, 384, 3, padding=1, groups=2)
    x = b.conv("CONV5", x, 256, 3, padding=1, groups=2)
    x = b.pool("POOL5", x, 3, stride=2)
    x = b.fc("FC6", x, 4096)
    x = b.fc("FC7", x, 4096)
    b.fc("FC8", x, 1000)
    return b.network()


# -- VGG-16 ------------------------------------------------------------------------

VGG16_STAGES = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))  # (channels, convs); Simonyan & Zisserman 2015, config D


def vgg16(batch: int = 1, bits: int = 8) -> Network:
    """VGG-16 (configuration D of Simonyan & Zisserman, ICLR 2015), 224x224 input.

    Thirteen 3x3 stride-1 pad-1 convs in five stages, each stage closed by a 2x2
    stride-2 max pool (224 -> 7), then FC6-FC8 (25088 -> 4096 -> 4096 -> 1000).
    Names follow the paper: conv1_1 ... conv5_3, pool1 ... pool5, fc6 ... fc8.
    """
    _check_positive("vgg16", "batch", batch)
    tensor_bits(bits, "network 'vgg16'")
    b = _Builder("vgg16", batch, bits)
    x = NetworkInput(3, 224, 224)
    for stage, (channels, convs) in enumerate(VGG16_STAGES, start=1):
        for i in range(1, convs + 1):
            x = b.conv(f"conv{stage}_{i}", x, channels, 3, padding=1)
        x = b.pool(f"pool{stage}", x, 2, stride=2)
    x = b.fc("fc6", x, 4096)
    x = b.fc("fc7", x, 4096)
    b.fc("fc8", x, 1000)
    return b.network()


# -- ResNets -------------------------------------------------------------------------

def _resnet_stem(b: _Builder) -> Layer:
    """7x7 stride-2 conv (224 -> 112) and 3x3 stride-2 pad-1 max pool (-> 56)."""
    x = b.conv("conv1", NetworkInput(3, 224, 224), 64, 7, stride=2, padding=3)
    return b.pool("maxpool", x, 3, stride=2, padding=1)


def _basic_block(b: _Builder, name: str, x: Layer, width: int, stride: int) -> Layer:
    """Two 3x3 convs; the shortcut is a 1x1 strided projection when the shape changes."""
    y = b.conv(f"{name}.conv1", x, width, 3, stride=stride, padding=1)
    y = b.conv(f"{name}.conv2", y, width, 3, padding=1)
    if stride != 1 or x.k != width:
        x = b.conv(f"{name}.downsample", x, width, 1, stride=stride)
    return b.add_residual(f"{name}.add", y, x)


def _bottleneck(b: _Builder, name: str, x: Layer, width: int, stride: int) -> Layer:
    """1x1 reduce, 3x3 (carrying the stride: torchvision's "ResNet v1.5"), 1x1 expand to
    4 x width; the shortcut is a 1x1 strided projection when the shape changes."""
    y = b.conv(f"{name}.conv1", x, width, 1)
    y = b.conv(f"{name}.conv2", y, width, 3, stride=stride, padding=1)
    y = b.conv(f"{name}.conv3", y, 4 * width, 1)
    if stride != 1 or x.k != 4 * width:
        x = b.conv(f"{name}.downsample", x, 4 * width, 1, stride=stride)
    return b.add_residual(f"{name}.add", y, x)


def _resnet(name: str, block: Callable, blocks: Sequence[int], batch: int, bits: int) -> Network:
    _check_positive(name, "batch", batch)
    tensor_bits(bits, f"network '{name}'")
    b = _Builder(name, batch, bits)
    x = _resnet_stem(b)
    for stage, count in enumerate(blocks, start=1):
        width = 64 * 2 ** (stage - 1)
        for i in range(count):
            stride = 2 if stage > 1 and i == 0 else 1
            x = block(b, f"layer{stage}.{i}", x, width, stride)
    x = b.gap("avgpool", x)
    b.fc("fc", x, 1000)
    return b.network()


def resnet18(batch: int = 1, bits: int = 8) -> Network:
    """ResNet-18 (He et al., CVPR 2016, Table 1), layer for layer as torchvision builds it:
    stem, four stages of two basic blocks (64, 128, 256, 512 channels; stages 2-4 start
    with stride 2 and a 1x1 projection shortcut), global average pool, FC 512 -> 1000.
    Names follow torchvision (``layer2.0.conv1``, ``layer2.0.downsample``); each
    residual add is ``layerS.I.add`` with two producers."""
    return _resnet("resnet18", _basic_block, (2, 2, 2, 2), batch, bits)


def resnet50(batch: int = 1, bits: int = 8) -> Network:
    """ResNet-50 (He et al., CVPR 2016, Table 1) as torchvision builds it ("v1.5": the
    stride sits on the 3x3 conv of a bottleneck, not on the first 1x1 as in the paper):
    stem, 3-4-6-3 bottleneck blocks (widths 64-128-256-512, outputs 4x), global
    average pool, FC 2048 -> 1000. The first block of every stage has a 1x1
    projection shortcut (``layerS.0.downsample``); every block ends in a residual
    add ``layerS.I.add`` whose producers are ``conv3`` and the shortcut."""
    return _resnet("resnet50", _bottleneck, (3, 4, 6, 3), batch, bits)


# -- MobileNetV2 -----------------------------------------------------------------------

# (expansion t, output channels c, repeats n, first stride s); Sandler et al., CVPR 2018, Table 2
MOBILENET_V2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(batch: int = 1, bits: int = 8) -> Network:
    """MobileNetV2 1.0 / 224 (Sandler et al., CVPR 2018, Table 2), as torchvision builds it.

    A 3x3 stride-2 conv (3 -> 32), then 17 inverted residual blocks: a 1x1
    expansion to t x C channels (left out when t = 1), a 3x3 depthwise conv
    carrying the stride, a linear 1x1 projection; a block whose stride is 1 and
    whose input and output channels are equal adds its input back
    (``blockI.add``, two producers). Then a 1x1 conv to 1280, global average
    pool and FC 1280 -> 1000. Blocks are numbered 1..17 in order.
    """
    _check_positive("mobilenet_v2", "batch", batch)
    tensor_bits(bits, "network 'mobilenet_v2'")
    b = _Builder("mobilenet_v2", batch, bits)
    x = b.conv("conv1", NetworkInput(3, 224, 224), 32, 3, stride=2, padding=1)
    index = 0
    for t, channels, repeats, first_stride in MOBILENET_V2_BLOCKS:
        for i in range(repeats):
            index += 1
            stride = first_stride if i == 0 else 1
            name = f"block{index}"
            y = b.conv(f"{name}.expand", x, t * x.k, 1) if t != 1 else x
            y = b.dwconv(f"{name}.dw", y, 3, stride=stride, padding=1)
            y = b.conv(f"{name}.project", y, channels, 1)
            x = b.add_residual(f"{name}.add", y, x) if stride == 1 and x.k == channels else y
    x = b.conv("conv_last", x, 1280, 1)
    x = b.gap("avgpool", x)
    b.fc("fc", x, 1000)
    return b.network()


# -- U-Net -------------------------------------------------------------------------------

UNET_CHANNELS = (64, 128, 256, 512, 1024)  # Ronneberger et al., MICCAI 2015, Fig. 1


def unet(batch: int = 1, bits: int = 8, in_size: int = 572, in_channels: int = 1, classes: int = 2,
         same_padding: bool = False) -> Network:
    """U-Net (Ronneberger, Fischer and Brox, MICCAI 2015, Fig. 1).

    Default: the original network, 572x572 one-channel input, unpadded ("valid")
    3x3 convs, 388x388 two-class output. Four encoder levels of two 3x3 convs
    (64, 128, 256, 512 channels) each followed by a 2x2 max pool, two 3x3 convs
    with 1024 channels at the bottom, then four decoder levels of

    * ``upN.upsample``: nearest 2x upsampling, a data-movement layer (``op="vector"``,
      one copy per output element);
    * ``upN.upconv``: the paper's 2x2 "up-convolution" that halves the channels.
      The reference implementation is a 2x2 stride-2 transposed conv, in which
      every output pixel receives exactly one filter tap from each input channel;
      it is modelled as a **1x1 conv2d on the upsampled map**, which has exactly
      its MACs (C x K per output pixel) and output shape, but 1/4 of its weights
      (C x K instead of C x K x 2 x 2);
    * ``upN.crop`` (valid convs only): the centre crop of the encoder feature map to
      the decoder's size, a copy of the kept window (``op="vector"``);
    * ``decN.conv1``, ``decN.conv2``: two 3x3 convs; ``decN.conv1`` has two producers
      (crop and upconv) and reads their concatenation (2 x channels);

    and a final 1x1 conv to ``classes`` channels. ``same_padding=True`` gives the
    common padded variant (pad 1, no crops, output size = input size; ``in_size``
    must be a multiple of 16). With valid convs, ``in_size`` must make every 2x2
    max pool see an even size (572, 556, ...; the paper's "seamless tiling" rule).
    """
    name = "unet"
    for field, value in (("batch", batch), ("in_size", in_size), ("in_channels", in_channels), ("classes", classes)):
        _check_positive(name, field, value)
    tensor_bits(bits, f"network '{name}'")
    _check_unet_size(in_size, same_padding)
    b = _Builder(name, batch, bits)
    pad = 1 if same_padding else 0
    x = NetworkInput(in_channels, in_size, in_size)
    skips = []
    for level, channels in enumerate(UNET_CHANNELS[:-1], start=1):
        x = b.conv(f"enc{level}.conv1", x, channels, 3, padding=pad)
        x = b.conv(f"enc{level}.conv2", x, channels, 3, padding=pad)
        skips.append(x)
        x = b.pool(f"enc{level}.pool", x, 2, stride=2)
    x = b.conv("bottom.conv1", x, UNET_CHANNELS[-1], 3, padding=pad)
    x = b.conv("bottom.conv2", x, UNET_CHANNELS[-1], 3, padding=pad)
    for level in range(len(skips), 0, -1):
        skip, channels = skips[level - 1], UNET_CHANNELS[level - 1]
        size = (2 * x.p, 2 * x.q)
        up = b.copy2d(f"up{level}.upsample", x, size, reads_input=True)
        up = b.conv(f"up{level}.upconv", up, channels, 1)
        if (skip.p, skip.q) != size:
            skip = b.copy2d(f"up{level}.crop", skip, size, reads_input=False)
        x = b.conv(f"dec{level}.conv1", [skip, up], channels, 3, padding=pad)
        x = b.conv(f"dec{level}.conv2", x, channels, 3, padding=pad)
    b.conv("head", x, classes, 1)
    return b.network()


def _check_unet_size(in_size: int, same_padding: bool) -> None:
    """Valid convs: every 2x2 max pool must see an even size and every decoder conv a
    size >= 3, i.e. ``in_size = 188 + 16 m`` (the paper's "seamless tiling" sizes)."""
    if same_padding:
        if in_size % 16:
            raise WorkloadError(f"network 'unet': field 'in_size' = {in_size}: with same_padding the "
                                "input must be a multiple of 16 (four 2x2 max pools)")
        return
    valid = "with valid convs, in_size must be 188 + 16 * m (m >= 0), e.g. 572"
    size = in_size
    for _ in range(4):                      # encoder: two valid 3x3 convs, then a 2x2 pool
        size -= 4
        if size < 2 or size % 2:
            raise WorkloadError(f"network 'unet': field 'in_size' = {in_size}: a 2x2 max pool would "
                                f"see size {size}; {valid}")
        size //= 2
    size -= 4                               # bottom convs
    for _ in range(4):                      # decoder: 2x up, two valid 3x3 convs
        size = 2 * size - 4
        if size < 1:
            raise WorkloadError(f"network 'unet': field 'in_size' = {in_size}: too small, the "
                                f"decoder convs would see nothing; {valid}")


# -- registry -----------------------------------------------------------------------------

NETWORKS: dict[str, Callable[..., Network]] = {
    "alexnet": alexnet,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "unet": unet,
}


def network_names() -> list[str]:
    return sorted(NETWORKS)


def get_network(name: str, **kwargs) -> Network:
    """A zoo network by name, e.g. ``get_network("resnet50", batch=1)``; unknown names
    and unknown options raise :class:`~hwsim.errors.WorkloadError`."""
    if not isinstance(name, str) or name not in NETWORKS:
        raise WorkloadError(f"field 'network' = {name!r}: unknown network; valid: {network_names()}")
    builder = NETWORKS[name]
    options = list(inspect.signature(builder).parameters)
    for key, value in kwargs.items():
        if key not in options:
            raise WorkloadError(f"network '{name}': field {key!r} = {value!r}: unknown option; valid: {options}")
    return builder(**kwargs)
