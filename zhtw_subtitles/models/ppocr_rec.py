"""PP-OCRv6_small_rec (PaddleOCR text-line recogniser, Apache-2.0) as a trainable PyTorch module.

The architecture is read off rapidocr's `PP-OCRv6_rec_small.onnx`: a PP-LCNetV4 backbone (PP-HGNetV2 stem, then
MetaFormer-style depthwise blocks), an EncoderWithLightSVTR neck (local 1x7 conv + two transformer blocks, additive
skip) and a linear CTC head over 18,710 classes. The export fused every backbone BatchNorm (and the re-parameterised
depthwise branches) into conv biases; the three BatchNorms of the neck are still separate and stay BatchNorm here.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from PIL import Image
from torch import nn

from zhtw_subtitles.models.ctc import CtcCharset

INPUT_HEIGHT = 48
# rapidocr's rec_img_shape width: narrower batches are padded up to it.
MIN_INPUT_WIDTH = 320

# (in_channels, out_channels, stride, squeeze_excitation) per block, per stage.
BACKBONE_STAGES = (
    ((96, 96, 1, True),),
    ((96, 96, 1, False), (96, 96, 1, False)),
    ((96, 192, (2, 1), False),) + ((192, 192, 1, True), (192, 192, 1, False)) * 3,
    ((192, 384, (2, 1), False), (384, 384, 1, True), (384, 384, 1, False)),
)


def rapidocr_onnx_path() -> Path:
    """The PP-OCRv6 small recogniser shipped inside the rapidocr wheel."""
    return Path(find_spec("rapidocr").origin).parent / "models" / "PP-OCRv6_rec_small.onnx"


class ConvReLU(nn.Module):
    """Stem convolution; its BatchNorm was folded into the bias at export."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x))


class Stem(nn.Module):
    """PP-HGNetV2 stem: 3 -> 96 channels, height and width / 4."""

    def __init__(self):
        super().__init__()
        self.stem1 = ConvReLU(3, 48, 3, stride=2, padding=1)
        self.stem2a = ConvReLU(48, 24, 2)
        self.stem2b = ConvReLU(24, 48, 2)
        self.stem3 = ConvReLU(96, 48, 3, stride=2, padding=1)
        self.stem4 = ConvReLU(48, 96, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem1(x)
        # The 2x2 convs and the pool are exported with SAME_UPPER: one extra row and column at the bottom/right.
        padded = F.pad(x, (0, 1, 0, 1))
        conv_branch = self.stem2b(F.pad(self.stem2a(padded), (0, 1, 0, 1)))
        pool_branch = F.max_pool2d(padded, kernel_size=2, stride=1)  # a zero pad never wins: x is post-ReLU
        return self.stem4(self.stem3(torch.cat([pool_branch, conv_branch], dim=1)))


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // reduction, 1)
        self.expand = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = x.mean(dim=(2, 3), keepdim=True)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(weights))))


class LCNetV4Block(nn.Module):
    """Depthwise 3x3 token mixer (+ optional SE), then a 2x GELU channel MLP, residual when the shape is kept.

    `token_conv` is the deploy form: PaddleOCR trains it as a structurally re-parameterisable depthwise conv with
    BatchNorm (multi-branch in stride-1 blocks), which the export fused into this single conv with bias.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int | tuple[int, int], squeeze_excitation: bool):
        super().__init__()
        self.token_conv = nn.Conv2d(in_channels, in_channels, 3, stride, padding=1, groups=in_channels)
        self.squeeze_excitation = SqueezeExcitation(in_channels) if squeeze_excitation else nn.Identity()
        self.channel_expand = nn.Conv2d(in_channels, 2 * in_channels, 1)
        self.channel_project = nn.Conv2d(2 * in_channels, out_channels, 1)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_excitation(self.token_conv(x))
        mixed = self.channel_project(F.gelu(self.channel_expand(x)))
        return x + mixed if self.residual else mixed


class PPLCNetV4(nn.Module):
    """N x 3 x 48 x W -> N x 384 x 3 x ceil(ceil(W / 2) / 2)."""

    def __init__(self):
        super().__init__()
        self.stem = Stem()
        self.stages = nn.ModuleList(
            nn.Sequential(*(LCNetV4Block(*block) for block in stage)) for stage in BACKBONE_STAGES
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return x


class ConvBNSiLU(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int] = (1, 1), groups: int = 1):
        super().__init__()
        padding = (kernel_size[0] // 2, kernel_size[1] // 2)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, groups=groups, bias=False)
        # eps 1e-5 and torch momentum 0.1 are Paddle's epsilon 1e-5 and momentum 0.9 (Paddle weights the old stat).
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.bn(self.conv(x)))


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads, dim // self.num_heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # scale head_dim ** -0.5, as exported
        return self.proj(attended.transpose(1, 2).reshape(batch, length, dim))


class TransformerBlock(nn.Module):
    """Pre-norm block with a 2x SiLU MLP; no dropout or drop-path exists in the exported graph."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attention = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.mlp_in = nn.Linear(dim, 2 * dim)
        self.mlp_out = nn.Linear(2 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp_out(F.silu(self.mlp_in(self.norm2(x))))


class EncoderWithLightSVTR(nn.Module):
    """N x 384 x 1 x T feature row -> N x T x 120 tokens."""

    def __init__(self, in_channels: int = 384, dim: int = 120, depth: int = 2, num_heads: int = 8):
        super().__init__()
        # Declared before reduce_conv because the graph runs it first; load_from_onnx pairs layers by order.
        self.skip_conv = ConvBNSiLU(in_channels, dim)
        self.reduce_conv = ConvBNSiLU(in_channels, dim)
        self.local_conv = ConvBNSiLU(dim, dim, kernel_size=(1, 7), groups=dim)
        self.blocks = nn.ModuleList(TransformerBlock(dim, num_heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.shape[2] != 1:
            raise ValueError(f"neck needs one feature row (input height {INPUT_HEIGHT}), got {features.shape[2]}")
        skip = self.skip_conv(features).flatten(2).transpose(1, 2)
        x = self.reduce_conv(features)
        x = x + self.local_conv(x)
        tokens = x.flatten(2).transpose(1, 2)
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens) + skip


class PPOCRv6SmallRec(nn.Module):
    """Text-line recogniser: N x 3 x 48 x W BGR in [-1, 1] -> N x T x C CTC logits, T = ceil(ceil(W / 2) / 2) // 2.

    With `freeze_batchnorm_stats`, `train()` keeps the neck's BatchNorms in eval mode (running statistics are used
    and never updated) while their affine weights still learn.
    """

    def __init__(self, num_classes: int = 18710, freeze_batchnorm_stats: bool = False):
        super().__init__()
        self.freeze_batchnorm_stats = freeze_batchnorm_stats
        self.backbone = PPLCNetV4()
        self.neck = EncoderWithLightSVTR()
        self.head = nn.Linear(120, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = F.avg_pool2d(self.backbone(images), kernel_size=(3, 2))
        return self.head(self.neck(features))

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """What the ONNX graph outputs: softmax over the classes."""
        return self(images).softmax(dim=-1)

    def train(self, mode: bool = True) -> PPOCRv6SmallRec:
        super().train(mode)
        if mode and self.freeze_batchnorm_stats:
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self


def preprocess(
    images: Sequence[Image.Image],
    height: int = INPUT_HEIGHT,
    min_width: int = MIN_INPUT_WIDTH,
    max_width: int | None = None,
) -> torch.Tensor:
    """rapidocr's `TextRecognizer.resize_norm_img` applied to `images` as one batch.

    Every image is resized with OpenCV bilinear to `height` and width min(ceil(height * w / h), batch width),
    keeping its aspect unless it is wider than the batch; channels are BGR (rapidocr converts PIL's RGB to OpenCV
    order, as PaddleOCR trained), scaled to (x / 255 - 0.5) / 0.5, and zero-padded on the right. The batch width is
    int(height * max(min_width / height, widest w / h)), capped at `max_width` when given (wider lines are squeezed).
    """
    max_ratio = min_width / height
    for image in images:
        max_ratio = max(max_ratio, image.width / image.height)
    batch_width = int(height * max_ratio)
    if max_width is not None:
        batch_width = min(batch_width, max_width)

    batch = np.zeros((len(images), 3, height, batch_width), dtype=np.float32)
    for row, image in zip(batch, images):
        # Same expression as rapidocr, so the float rounding before the ceil agrees.
        resized_width = min(math.ceil(height * (image.width / image.height)), batch_width)
        bgr = cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)
        resized = cv2.resize(bgr, (resized_width, height)).astype(np.float32)
        row[:, :, :resized_width] = (resized.transpose(2, 0, 1) / 255 - 0.5) / 0.5
    return torch.from_numpy(batch)


def load_from_onnx(onnx_path: str | Path, freeze_batchnorm_stats: bool = False) -> tuple[PPOCRv6SmallRec, CtcCharset]:
    """The recogniser (in eval mode) with every weight of the ONNX export, and its charset (metadata `character`)."""
    proto = onnx.load(str(onnx_path))
    charset = _charset_of(proto)
    model = PPOCRv6SmallRec(charset.num_classes, freeze_batchnorm_stats)
    model.load_state_dict(_state_dict_from_graph(_OnnxGraph(proto.graph), model), strict=True)
    return model.eval(), charset


def charset_from_onnx(onnx_path: str | Path) -> CtcCharset:
    """The dictionary stored in the export's metadata key `character`, one character per line."""
    return _charset_of(onnx.load(str(onnx_path), load_external_data=False))


def _charset_of(proto: onnx.ModelProto) -> CtcCharset:
    metadata = {prop.key: prop.value for prop in proto.metadata_props}
    return CtcCharset.from_paddle_dictionary(metadata["character"].splitlines())


@dataclass
class _GraphLayer:
    op: str  # Conv, BatchNormalization, MatMul or LayerNorm
    initializers: dict[str, str]  # torch parameter/buffer name within the module -> ONNX initializer name
    epsilon: float | None = None


_MODULE_OF_OP = {
    "Conv": nn.Conv2d,
    "BatchNormalization": nn.BatchNorm2d,
    "MatMul": nn.Linear,
    "LayerNorm": nn.LayerNorm,
}


class _OnnxGraph:
    """Def-use view of a paddle2onnx graph that looks through its Identity nodes."""

    def __init__(self, graph: onnx.GraphProto):
        self._alias = {node.output[0]: node.input[0] for node in graph.node if node.op_type == "Identity"}
        self.nodes = [node for node in graph.node if node.op_type != "Identity"]
        self.initializers = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
        self._producer = {output: node for node in self.nodes for output in node.output}
        self._consumers = defaultdict(list)
        for node in self.nodes:
            for name in node.input:
                self._consumers[self._resolve(name)].append(node)

    def _resolve(self, name: str) -> str:
        while name in self._alias:
            name = self._alias[name]
        return name

    def _inputs(self, node: onnx.NodeProto) -> list[str]:
        return [self._resolve(name) for name in node.input]

    def _weight_input(self, node: onnx.NodeProto) -> str | None:
        return next((name for name in self._inputs(node) if name in self.initializers), None)

    def _bias_after(self, node: onnx.NodeProto) -> str | None:
        users = self._consumers[node.output[0]]
        return self._weight_input(users[0]) if len(users) == 1 and users[0].op_type == "Add" else None

    def _layer_norm_epsilon(self, scale_node: onnx.NodeProto) -> float:
        normalized = self._producer[next(n for n in self._inputs(scale_node) if n not in self.initializers)]  # Div
        std = self._producer[self._inputs(normalized)[1]]  # Sqrt
        variance_plus_epsilon = self._producer[self._inputs(std)[0]]  # Add
        return float(self.initializers[self._weight_input(variance_plus_epsilon)])

    def layers(self) -> list[_GraphLayer]:
        """Parametrised layers in execution order; Conv and MatMul biases live in the Add that follows them."""
        layers = []
        for node in self.nodes:
            inputs = self._inputs(node)
            epsilon = None
            if node.op_type == "Conv":
                op = "Conv"
                names = {"weight": inputs[1], "bias": inputs[2] if len(inputs) > 2 else self._bias_after(node)}
            elif node.op_type == "BatchNormalization":
                op = "BatchNormalization"
                names = dict(zip(("weight", "bias", "running_mean", "running_var"), inputs[1:]))
                epsilon = next(attr.f for attr in node.attribute if attr.name == "epsilon")
            elif node.op_type == "MatMul" and inputs[1] in self.initializers:
                op = "MatMul"
                names = {"weight": inputs[1], "bias": self._bias_after(node)}
            elif node.op_type == "Mul" and (scale := self._weight_input(node)) and self.initializers[scale].size > 1:
                # LayerNorm is exported unfused (ReduceMean/Sub/Pow/Sqrt/Div); the Mul/Add after it are its affine.
                op = "LayerNorm"
                names = {"weight": scale, "bias": self._bias_after(node)}
                epsilon = self._layer_norm_epsilon(node)
            else:
                continue
            layers.append(_GraphLayer(op, {role: name for role, name in names.items() if name is not None}, epsilon))
        return layers


def _state_dict_from_graph(graph: _OnnxGraph, model: nn.Module) -> dict[str, torch.Tensor]:
    """Pair graph layers with the model's layers in order (modules are declared in execution order) and copy.

    Raises if kinds, shapes or epsilons disagree, or if any ONNX weight is left over; single-number constants
    (GELU's sqrt 2, LayerNorm epsilons, the attention scale) are structure, not weights.
    """
    layer_types = tuple(_MODULE_OF_OP.values())
    torch_layers = [(name, module) for name, module in model.named_modules() if isinstance(module, layer_types)]
    graph_layers = graph.layers()
    if len(torch_layers) != len(graph_layers):
        raise ValueError(f"ONNX graph has {len(graph_layers)} parametrised layers, the model {len(torch_layers)}")

    state: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for (prefix, module), layer in zip(torch_layers, graph_layers):
        if not isinstance(module, _MODULE_OF_OP[layer.op]):
            raise ValueError(f"{prefix} is a {type(module).__name__} but the graph has {layer.op} here")
        if layer.epsilon is not None and not math.isclose(layer.epsilon, module.eps, rel_tol=1e-6):
            raise ValueError(f"{prefix}: epsilon {module.eps} but the graph uses {layer.epsilon}")
        targets = dict(module.named_parameters())
        targets |= {name: buffer for name, buffer in module.named_buffers() if name != "num_batches_tracked"}
        if set(targets) != set(layer.initializers):
            raise ValueError(f"{prefix} has {sorted(targets)}, the graph gives {sorted(layer.initializers)}")
        for role, onnx_name in layer.initializers.items():
            value = graph.initializers[onnx_name]
            if layer.op == "MatMul" and role == "weight":
                value = value.T  # Paddle stores linear weights as in x out
            elif layer.op == "Conv" and role == "bias":
                value = value.reshape(-1)  # exported as a 1 x C x 1 x 1 addend
            if value.shape != tuple(targets[role].shape):
                raise ValueError(f"{prefix}.{role} is {tuple(targets[role].shape)}, {onnx_name} is {value.shape}")
            state[f"{prefix}.{role}"] = torch.tensor(value)
            used.add(onnx_name)
        if isinstance(module, nn.BatchNorm2d):
            state[f"{prefix}.num_batches_tracked"] = torch.tensor(0)

    unused = [
        name
        for name, value in graph.initializers.items()
        if name not in used and value.dtype.kind == "f" and value.size > 1
    ]
    if unused:
        raise ValueError(f"ONNX weights without a place in the model: {unused}")
    return state
