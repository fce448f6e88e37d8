"""The weights of a paddle2onnx export (rapidocr's PP-OCR models) placed into the matching transformers model.

The export names its weights after Paddle's generated layer names (`conv2d_68.w_0`, `p2o.pd_op.reshape.0.0`), which
say nothing about where a weight belongs, and it folded most BatchNorms into conv biases. So every weight is placed by
the graph node that consumes it: the graph's parametrised layers (Conv / ConvTranspose with the bias Add or the
BatchNormalization after it, MatMul with its bias Add, the unfused LayerNorm pattern), in the order the graph runs
them, are paired with the model's layers in the order its forward runs them on an example input (recorded with
hooks; a BatchNorm that reads a convolution's output belongs to that convolution). Each pair must agree on the kind
of layer, the weight shapes, stride and groups, the size of the convolution's output on the example, and epsilons;
every model parameter is filled exactly once and every graph weight is used, or loading fails with a message that
names the parameter.

A BatchNorm that the export folded away becomes the identity (scale 1, mean 0, variance 1 - eps) and takes the
folded bias, unless its convolution has a bias of its own.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper, shape_inference
from torch import nn

KIND_OF_MODULE = {
    nn.Conv2d: "Conv",
    nn.ConvTranspose2d: "ConvTranspose",
    nn.Linear: "MatMul",
    nn.LayerNorm: "LayerNorm",
}
BATCH_NORM_ROLES = ("weight", "bias", "running_mean", "running_var")
# Ops whose constant inputs are shapes or scales (Resize's scale factors are floats), never weights.
STRUCTURE_OPS = {"Resize", "Reshape", "Slice", "Concat", "Unsqueeze", "Squeeze", "Expand", "Tile"}


@dataclass
class GraphLayer:
    node: str  # the ONNX node that consumes the weight, e.g. "Conv.54"
    kind: str  # Conv, ConvTranspose, MatMul or LayerNorm
    weights: dict[str, str]  # role -> initializer: weight, bias; batch_norm.<role> for an unfolded BatchNorm
    attributes: dict[str, object]
    output_size: tuple[int, ...] | None  # H x W of a convolution's output on the example
    epsilon: float | None = None  # LayerNorm's, or the unfolded BatchNorm's


@dataclass
class ModelLayer:
    name: str  # module path in the model
    module: nn.Module
    output_size: tuple[int, ...]
    batch_norm: tuple[str, nn.BatchNorm2d] | None = None  # the BatchNorm right after a convolution

    @property
    def kind(self) -> str:
        return next(kind for cls, kind in KIND_OF_MODULE.items() if isinstance(self.module, cls))


class OnnxGraph:
    """Def-use view of a paddle2onnx graph that looks through its Identity nodes, with tensor sizes inferred for a
    fixed input shape."""

    def __init__(self, proto: onnx.ModelProto, input_shape: tuple[int, ...]):
        graph = proto.graph
        self._alias = {node.output[0]: node.input[0] for node in graph.node if node.op_type == "Identity"}
        self.nodes = [node for node in graph.node if node.op_type != "Identity"]
        self.initializers = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
        self._producer = {output: node for node in self.nodes for output in node.output}
        self._consumers = defaultdict(list)
        for node in self.nodes:
            for name in node.input:
                self._consumers[self._resolve(name)].append(node)
        self._shapes = _inferred_shapes(proto, input_shape)

    def weights(self) -> list[str]:
        """Initializers that hold weights: floats with more than one value that feed arithmetic, not structure
        (single numbers are GELU's sqrt 2, epsilons, the attention scale)."""
        return [name for name, value in self.initializers.items() if value.dtype.kind == "f" and value.size > 1
                and not all(node.op_type in STRUCTURE_OPS for node in self._consumers[name])]

    def _resolve(self, name: str) -> str:
        while name in self._alias:
            name = self._alias[name]
        return name

    def _inputs(self, node: onnx.NodeProto) -> list[str]:
        return [self._resolve(name) for name in node.input]

    def _weight_input(self, node: onnx.NodeProto) -> str | None:
        return next((name for name in self._inputs(node) if name in self.initializers), None)

    def _only_consumer(self, node: onnx.NodeProto, op_type: str) -> onnx.NodeProto | None:
        users = self._consumers[node.output[0]]
        return users[0] if len(users) == 1 and users[0].op_type == op_type else None

    def _bias_after(self, node: onnx.NodeProto) -> str | None:
        add = self._only_consumer(node, "Add")
        return self._weight_input(add) if add is not None else None

    def _layer_norm_epsilon(self, scale_node: onnx.NodeProto) -> float:
        normalized = self._producer[next(n for n in self._inputs(scale_node) if n not in self.initializers)]  # Div
        std = self._producer[self._inputs(normalized)[1]]  # Sqrt
        variance_plus_epsilon = self._producer[self._inputs(std)[0]]  # Add
        return float(self.initializers[self._weight_input(variance_plus_epsilon)])

    def _convolution(self, node: onnx.NodeProto) -> GraphLayer:
        inputs = self._inputs(node)
        weights = {"weight": inputs[1]}
        epsilon = None
        if len(inputs) > 2:
            weights["bias"] = inputs[2]
        elif (norm := self._only_consumer(node, "BatchNormalization")) is not None:
            weights |= {f"batch_norm.{role}": name for role, name in zip(BATCH_NORM_ROLES, self._inputs(norm)[1:])}
            epsilon = next(attr.f for attr in norm.attribute if attr.name == "epsilon")
        elif (bias := self._bias_after(node)) is not None:
            weights["bias"] = bias
        attributes = {attr.name: onnx.helper.get_attribute_value(attr) for attr in node.attribute}
        shape = self._shapes.get(node.output[0])
        return GraphLayer(node.name, node.op_type, weights, attributes, tuple(shape[2:]) if shape else None, epsilon)

    def layers(self) -> list[GraphLayer]:
        """Parametrised layers in graph order."""
        layers = []
        for node in self.nodes:
            inputs = self._inputs(node)
            if node.op_type in ("Conv", "ConvTranspose"):
                layers.append(self._convolution(node))
            elif node.op_type == "MatMul" and inputs[1] in self.initializers:
                weights = {"weight": inputs[1], "bias": self._bias_after(node)}
                layers.append(GraphLayer(node.name, "MatMul", _present(weights), {}, None))
            elif node.op_type == "Mul" and (scale := self._weight_input(node)) and self.initializers[scale].size > 1:
                # LayerNorm is exported unfused (ReduceMean/Sub/Pow/Sqrt/Div); the Mul/Add after it are its affine.
                weights = {"weight": scale, "bias": self._bias_after(node)}
                layers.append(GraphLayer(node.name, "LayerNorm", _present(weights), {}, None,
                                         self._layer_norm_epsilon(node)))
        return layers


def _present(weights: dict[str, str | None]) -> dict[str, str]:
    return {role: name for role, name in weights.items() if name is not None}


def _inferred_shapes(proto: onnx.ModelProto, input_shape: tuple[int, ...]) -> dict[str, list[int]]:
    fixed = onnx.ModelProto()
    fixed.CopyFrom(proto)
    for dim, size in zip(fixed.graph.input[0].type.tensor_type.shape.dim, input_shape):
        dim.ClearField("dim_param")
        dim.dim_value = size
    inferred = shape_inference.infer_shapes(fixed).graph
    shapes = {}
    for info in [*inferred.value_info, *inferred.input, *inferred.output]:
        dims = info.type.tensor_type.shape.dim
        if dims and all(dim.HasField("dim_value") for dim in dims):
            shapes[info.name] = [dim.dim_value for dim in dims]
    return shapes


def traced_layers(model: nn.Module, example: torch.Tensor) -> list[ModelLayer]:
    """The model's parametrised layers in the order its forward runs them on `example`."""
    names = {module: name for name, module in model.named_modules()}
    calls: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []  # keeps every tensor alive, so `is` is reliable
    hooked = (*KIND_OF_MODULE, nn.BatchNorm2d)
    handles = [module.register_forward_hook(lambda module, args, output: calls.append((module, args[0], output)))
               for module in model.modules() if isinstance(module, hooked)]
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        for handle in handles:
            handle.remove()

    layers: list[ModelLayer] = []
    seen: set[nn.Module] = set()
    previous_output = None
    for module, input, output in calls:
        if module in seen:
            raise ValueError(f"{names[module]} runs more than once; weights cannot be placed by execution order")
        seen.add(module)
        if isinstance(module, nn.BatchNorm2d):
            if not layers or input is not previous_output or layers[-1].kind not in ("Conv", "ConvTranspose"):
                raise ValueError(f"{names[module]} does not follow a convolution; no graph layer can fill it")
            layers[-1].batch_norm = (names[module], module)
        else:
            layers.append(ModelLayer(names[module], module, tuple(output.shape[2:])))
        previous_output = output
    return layers


class _StateDict:
    """The state dict being built: each entry is set once, with the shape the model expects."""

    def __init__(self, model: nn.Module, graph: OnnxGraph):
        self.expected = {name: tuple(value.shape) for name, value in model.state_dict().items()
                         if not name.endswith("num_batches_tracked")}
        self.graph = graph
        self.values: dict[str, torch.Tensor] = {}
        self.used: set[str] = set()

    def fill(self, name: str, value: np.ndarray, source: str) -> None:
        if name not in self.expected:
            raise ValueError(f"{name} (from {source}) is not a parameter or buffer of the model")
        if name in self.values:
            raise ValueError(f"{name} would be filled twice, the second time from {source}")
        value = torch.from_numpy(np.array(value, dtype=np.float32))
        if tuple(value.shape) != self.expected[name]:
            raise ValueError(f"{name} is {self.expected[name]} but {source} gives {tuple(value.shape)}")
        self.values[name] = value

    def copy(self, name: str, initializer: str, where: str, transform=lambda value: value) -> None:
        self.used.add(initializer)
        self.fill(name, transform(self.graph.initializers[initializer]), f"{where} {initializer}")


def load_onnx_weights(model: nn.Module, onnx_path: str | Path, example: torch.Tensor,
                      graph_order: Callable[[list[ModelLayer]], list[ModelLayer]] | None = None) -> None:
    """Fill every parameter and buffer of `model` from the export at `onnx_path` (see the module docstring); the
    model is left in eval mode.

    `graph_order` rearranges the model's layers where the export runs independent branches in another order than
    the model's forward does.
    """
    graph = OnnxGraph(onnx.load(str(onnx_path)), tuple(example.shape))
    graph_layers = graph.layers()
    model_layers = traced_layers(model, example)
    if graph_order is not None:
        model_layers = graph_order(model_layers)
    if len(model_layers) != len(graph_layers):
        raise ValueError(f"{onnx_path} has {len(graph_layers)} parametrised layers, the model {len(model_layers)}")

    state = _StateDict(model, graph)
    for ours, theirs in zip(model_layers, graph_layers):
        where = f"{ours.name} ({ours.kind}) <- {theirs.node} ({theirs.kind})"
        if ours.kind != theirs.kind:
            raise ValueError(f"{where}: different kinds of layer")
        place = _place_convolution if ours.kind in ("Conv", "ConvTranspose") else _place_affine
        place(ours, theirs, state, where)

    missing = sorted(set(state.expected) - set(state.values))
    if missing:
        raise ValueError(f"no graph weight for {missing}")
    unused = sorted(set(graph.weights()) - state.used)
    if unused:
        raise ValueError(f"weights of {onnx_path} without a place in the model: {unused}")
    counters = {name: torch.tensor(0) for name in model.state_dict() if name.endswith("num_batches_tracked")}
    model.load_state_dict(state.values | counters, strict=True)


def _place_affine(ours: ModelLayer, theirs: GraphLayer, state: _StateDict, where: str) -> None:
    """Linear (Paddle stores its weight as in x out) or LayerNorm."""
    transposed = (lambda value: value.T) if ours.kind == "MatMul" else (lambda value: value)
    state.copy(f"{ours.name}.weight", theirs.weights["weight"], where, transposed)
    _place_bias(ours.name, ours.module, theirs, state, where)
    if ours.kind == "LayerNorm" and not math.isclose(ours.module.eps, theirs.epsilon, rel_tol=1e-6):
        raise ValueError(f"{where}: epsilon {ours.module.eps:g}, the graph uses {theirs.epsilon:g}")


def _place_bias(name: str, module: nn.Module, theirs: GraphLayer, state: _StateDict, where: str) -> None:
    ours, graphs = getattr(module, "bias", None) is not None, "bias" in theirs.weights
    if ours != graphs:
        raise ValueError(f"{where}: {name}.bias {'exists' if ours else 'does not exist'}, "
                         f"the graph {'has' if graphs else 'has no'} bias here")
    if ours:
        state.copy(f"{name}.bias", theirs.weights["bias"], where, lambda value: value.reshape(-1))


def _place_convolution(ours: ModelLayer, theirs: GraphLayer, state: _StateDict, where: str) -> None:
    conv = ours.module
    strides, groups = list(theirs.attributes.get("strides", [1, 1])), theirs.attributes.get("group", 1)
    if list(conv.stride) != strides or conv.groups != groups:
        raise ValueError(f"{where}: stride {conv.stride} groups {conv.groups}, the graph's {strides} {groups}")
    if theirs.output_size is not None and ours.output_size != theirs.output_size:
        raise ValueError(f"{where}: output {ours.output_size} on the example, the graph's is {theirs.output_size}")
    state.copy(f"{ours.name}.weight", theirs.weights["weight"], where)
    unfolded = {role.removeprefix("batch_norm."): name for role, name in theirs.weights.items()
                if role.startswith("batch_norm.")}
    if ours.batch_norm is None:
        if unfolded:
            raise ValueError(f"{where}: the graph has a BatchNormalization here, the model none")
        _place_bias(ours.name, conv, theirs, state, where)
        return

    norm_name, norm = ours.batch_norm
    if unfolded:
        if not math.isclose(norm.eps, theirs.epsilon, rel_tol=1e-6):
            raise ValueError(f"{where}: {norm_name} epsilon {norm.eps:g}, the graph uses {theirs.epsilon:g}")
        _place_bias(ours.name, conv, theirs, state, where)  # fails if the model's conv has a bias the graph lacks
        for role, initializer in unfolded.items():
            state.copy(f"{norm_name}.{role}", initializer, where)
        return
    # Folded at export: the bias belongs to the conv where it has one, else to the BatchNorm, now the identity.
    channels = norm.num_features
    if conv.bias is not None or "bias" not in theirs.weights:
        _place_bias(ours.name, conv, theirs, state, where)
        state.fill(f"{norm_name}.bias", np.zeros(channels), f"{where} (folded BatchNorm)")
    else:
        state.copy(f"{norm_name}.bias", theirs.weights["bias"], where, lambda value: value.reshape(-1))
    identity = {"weight": np.ones(channels), "running_mean": np.zeros(channels),
                "running_var": np.full(channels, 1 - norm.eps)}  # so that var + eps is 1
    for role, value in identity.items():
        state.fill(f"{norm_name}.{role}", value, f"{where} (folded BatchNorm)")
