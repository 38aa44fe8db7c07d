"""Compressed torch models and their saved formats: what the artifact really stores, and loaders.

Every format keeps ``architecture.json`` (the model spec, shapes and a ``compression`` entry
naming the format) beside one safetensors file, so `load_classifier` rebuilds any of them
without unpickling anything. Formats:

- ``fp32``: the plain float model (also what structured pruning produces: smaller layers).
- ``cast``: weights stored and run as bf16 or fp16.
- ``int8_dynamic`` / ``int8_static``: int8 weights + per-channel (or per-layer) scales and zero
  points; static also stores each layer's output scale and zero point.
- ``int4``: two 4-bit values per byte + one fp16 scale per group of input weights.
- ``sparse``: the non-zero weights of pruned matrices, as a bitmask + values or as CSR.
"""

from __future__ import annotations

import copy
import json
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from safetensors.torch import load as safetensors_load
from torch import nn

from ..models.base import Classifier, ParamCounts
from ..models.classical import SklearnClassifier
from ..models.neural import MLP, TorchClassifier, build_module
from ..specs import ModelSpec

# ----------------------------------------------------------------------------------------------
# torch.ao.quantization is deprecated and warns on import and use; the choice of backend stays
# here and its warnings stay away from the user.


@contextmanager
def quiet_torch_ao():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield


with quiet_torch_ao():
    import torch.ao.nn.intrinsic.quantized as nniq
    import torch.ao.nn.quantized as nnq
    import torch.ao.nn.quantized.dynamic as nnqd
    from torch.ao import quantization as tq

QUANTIZED_WEIGHT_MODULES = (nnqd.Linear, nnq.Linear, nnq.Conv2d, nniq.LinearReLU, nniq.ConvReLU2d)


# ----------------------------------------------------------------------------------------------
# Checks shared by the handlers: which models a torch technique can take.


def require_torch(model: Classifier, step_name: str) -> TorchClassifier:
    if isinstance(model, SklearnClassifier):
        est = type(model.estimator).__name__
        raise ValueError(f"{step_name} applies to PyTorch models; this is a scikit-learn {est}. "
                         "For small models use shrink_forest, sparsify_linear or float32_storage.")
    if not isinstance(model, TorchClassifier):
        raise ValueError(f"{step_name} applies to PyTorch models; got {type(model).__name__}")
    return model


def float_module(model: Classifier, step_name: str) -> nn.Module:
    """A float32 copy of the model's network; int8 models cannot give one back losslessly."""
    model = require_torch(model, step_name)
    if isinstance(model, Int8Classifier):
        fmt = model.arch["compression"]["format"]
        raise ValueError(f"{step_name} needs a float model, but this one is already int8-quantised "
                         f"(format {fmt}). Put quantisation last in the chain.")
    return copy.deepcopy(model.module).float().eval()


def base_arch(model: TorchClassifier) -> dict:
    """The architecture entry without any compression details."""
    return {k: v for k, v in model.arch.items() if k != "compression"}


def linear_like(module: nn.Module) -> list[tuple[str, nn.Module]]:
    """Linear and Conv2d layers (the ones whose weights compression acts on), in order."""
    return [(n, m) for n, m in module.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def _rebuild(arch: dict) -> nn.Module:
    spec = ModelSpec.from_dict(arch["spec"])
    shape = tuple(arch["image_shape"]) if arch.get("image_shape") else None
    groups = arch.get("feature_groups")  # FT-Transformer tokens per source column
    return build_module(spec, arch["n_features"], arch["n_classes"], shape,
                        tuple(int(g) for g in groups) if groups else None).eval()


# ----------------------------------------------------------------------------------------------
# bf16 / fp16


class CastClassifier(TorchClassifier):
    """Weights held, saved and run in a 16-bit float type; inputs are cast on the way in."""

    def __init__(self, module: nn.Module, arch: dict, family: str, dtype: torch.dtype):
        super().__init__(module.to(dtype), arch, family)
        self.dtype = dtype

    def logits(self, X: np.ndarray) -> torch.Tensor:
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(self.dtype)
            return self.module(x).float()


CAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


# ----------------------------------------------------------------------------------------------
# int8 (torch.ao quantised modules): saved as int8 values + scales, never as packed fbgemm blobs.


class Int8Classifier(TorchClassifier):
    """A network whose Linear (and, for static, Conv) layers hold int8 weights."""

    def state_tensors(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for name, m in self.module.named_modules():
            if isinstance(m, QUANTIZED_WEIGHT_MODULES):
                w = m.weight()  # quantised tensor (out, in[, kh, kw])
                out[f"{name}.weight_int8"] = w.int_repr().contiguous()
                if w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
                    out[f"{name}.weight_scale"] = w.q_per_channel_scales().float().contiguous()
                    out[f"{name}.weight_zero_point"] = w.q_per_channel_zero_points().to(torch.int8)
                else:
                    out[f"{name}.weight_scale"] = torch.tensor([w.q_scale()], dtype=torch.float32)
                    out[f"{name}.weight_zero_point"] = torch.tensor([w.q_zero_point()], dtype=torch.int8)
                if m.bias() is not None:
                    out[f"{name}.bias"] = m.bias().detach().float().contiguous()
                if hasattr(m, "scale") and not isinstance(m, nnqd.Linear):  # static: output qparams
                    out[f"{name}.out_scale"] = torch.tensor([float(m.scale)], dtype=torch.float32)
                    out[f"{name}.out_zero_point"] = torch.tensor([int(m.zero_point)], dtype=torch.int32)
            elif isinstance(m, nnq.Quantize):
                out[f"{name}.scale"] = m.scale.float().reshape(1)
                out[f"{name}.zero_point"] = m.zero_point.to(torch.int32).reshape(1)
            elif not list(m.children()):
                own = list(m.named_parameters(recurse=False)) + list(m.named_buffers(recurse=False))
                for pname, p in own:
                    out[f"{name}.{pname}"] = p.detach().contiguous()
        return out

    def _weights(self) -> list[torch.Tensor]:
        t = self.state_tensors()
        return [v for k, v in t.items() if k.endswith(("weight_int8", ".bias", ".weight"))]

    def param_counts(self) -> ParamCounts:
        ws = self._weights()
        return ParamCounts(sum(w.numel() for w in ws), sum(int(torch.count_nonzero(w)) for w in ws),
                           "weights (int8 values in quantised layers) and biases; scales not counted")

    def memory_bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.state_tensors().values())


def quantize_dynamic_module(module: nn.Module, granularity: str) -> nn.Module:
    """int8 dynamic quantisation of every Linear layer (fbgemm/x86 kernels, VNNI on this CPU)."""
    qconfig = tq.per_channel_dynamic_qconfig if granularity == "per_channel" else tq.default_dynamic_qconfig
    with quiet_torch_ao():
        return tq.quantize_dynamic(module, {nn.Linear: qconfig}, dtype=torch.qint8, inplace=False).eval()


class _QuantWrapper(nn.Module):
    """QuantStub -> float network (fused, dropout removed) -> DeQuantStub, for static quantisation."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.quant = tq.QuantStub()
        self.model = module
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.model(self.quant(x.flatten(1) if isinstance(self.model, MLP) else x)))


def _fusable(module: nn.Module) -> nn.Module:
    """Drop Dropout (identity at inference) so Linear/Conv + ReLU pairs become adjacent."""
    module = copy.deepcopy(module).eval()
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        keep = [c for c in seq if not isinstance(c, nn.Dropout)]
        for key in list(seq._modules):
            del seq._modules[key]
        for i, c in enumerate(keep):
            seq.add_module(str(i), c)
    pairs = []
    for name, seq in module.named_modules():
        if isinstance(seq, nn.Sequential):
            kids = list(seq.named_children())
            for (a, ma), (b, mb) in zip(kids, kids[1:]):
                if isinstance(ma, (nn.Linear, nn.Conv2d)) and isinstance(mb, nn.ReLU):
                    prefix = f"{name}." if name else ""
                    pairs.append([prefix + a, prefix + b])
    with quiet_torch_ao():
        return tq.fuse_modules(module, pairs) if pairs else module


def quantize_static_module(module: nn.Module, calibration: torch.Tensor, granularity: str) -> nn.Module:
    """int8 weights and activations; observers see ``calibration`` (rows of the training split)."""
    wrapped = _QuantWrapper(_fusable(module)).eval()
    with quiet_torch_ao():
        torch.backends.quantized.engine = "x86"
        qconfig = tq.get_default_qconfig("x86")
        if granularity == "per_tensor":
            qconfig = tq.QConfig(activation=qconfig.activation, weight=tq.default_weight_observer)
        wrapped.qconfig = qconfig
        prepared = tq.prepare(wrapped, inplace=False)
        with torch.inference_mode():
            for i in range(0, len(calibration), 256):
                prepared(calibration[i:i + 256])
        return tq.convert(prepared, inplace=False).eval()


def _load_int8(arch: dict, tensors: dict[str, torch.Tensor]) -> Int8Classifier:
    info = arch["compression"]
    module = _rebuild(arch)
    if info["format"] == "int8_dynamic":
        q = quantize_dynamic_module(module, info["granularity"])
    else:  # a skeleton with the same modules; every stored value is written over it below
        n = arch["n_features"]
        q = quantize_static_module(module, torch.zeros(2, n), info["granularity"])
    for name, m in q.named_modules():
        if isinstance(m, QUANTIZED_WEIGHT_MODULES):
            ints = tensors[f"{name}.weight_int8"]
            scale = tensors[f"{name}.weight_scale"].double()
            zp = tensors[f"{name}.weight_zero_point"].long()
            if scale.numel() > 1 or info["granularity"] == "per_channel":
                qw = torch._make_per_channel_quantized_tensor(ints, scale, zp, 0)
            else:
                qw = torch._make_per_tensor_quantized_tensor(ints, float(scale[0]), int(zp[0]))
            with quiet_torch_ao():
                m.set_weight_bias(qw, tensors.get(f"{name}.bias"))
            if f"{name}.out_scale" in tensors:
                m.scale = float(tensors[f"{name}.out_scale"][0])
                m.zero_point = int(tensors[f"{name}.out_zero_point"][0])
        elif isinstance(m, nnq.Quantize):
            m.scale = tensors[f"{name}.scale"].float()
            m.zero_point = tensors[f"{name}.zero_point"].long()
        elif not list(m.children()):
            for pname, p in list(m.named_parameters(recurse=False)) + list(m.named_buffers(recurse=False)):
                p.data.copy_(tensors[f"{name}.{pname}"])
    return Int8Classifier(q, arch, arch.get("family", "large"))


# ----------------------------------------------------------------------------------------------
# int4 weight-only, symmetric, per group of ``group`` input weights along each row.


def int4_quantize(w: torch.Tensor, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(out, in) float weights -> (out, ceil(in/group)*group/2) uint8 packed, (out, n_groups) fp16 scales."""
    out_f, in_f = w.shape
    pad = (-in_f) % group
    wp = torch.nn.functional.pad(w.float(), (0, pad)).reshape(out_f, -1, group)  # (out, G, group)
    scale = (wp.abs().amax(dim=2, keepdim=True) / 7.0).clamp(min=1e-8).half()
    q = torch.clamp(torch.round(wp / scale.float()), -8, 7).to(torch.int16) + 8  # 0..15
    q = q.reshape(out_f, -1).to(torch.uint8)
    packed = q[:, 0::2] | (q[:, 1::2] << 4)  # even index in the low nibble
    return packed.contiguous(), scale.squeeze(2).contiguous()


def int4_dequantize(packed: torch.Tensor, scale: torch.Tensor, in_features: int) -> torch.Tensor:
    out_f = packed.shape[0]
    q = torch.stack([packed & 0x0F, packed >> 4], dim=2).reshape(out_f, -1).to(torch.int16) - 8
    group = q.shape[1] // scale.shape[1]
    w = q.reshape(out_f, -1, group).float() * scale.float().unsqueeze(2)
    return w.reshape(out_f, -1)[:, :in_features].contiguous()


class Int4Classifier(TorchClassifier):
    """Linear weights saved as packed int4 + fp16 group scales; dequantised to float32 once at load.

    Inference runs float32 kernels on the dequantised weights (no int4 kernel is faster on this
    CPU), so latency and in-memory size are those of fp32; the saved artifact is the int4 one.
    """

    def __init__(self, module: nn.Module, arch: dict, family: str,
                 packed: dict[str, tuple[torch.Tensor, torch.Tensor]]):
        super().__init__(module, arch, family)
        self.packed = packed  # layer name -> (packed uint8, fp16 scales)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        out = {}
        for name, t in self.module.state_dict().items():
            layer = name.rsplit(".", 1)[0]
            if layer in self.packed and name.endswith(".weight"):
                out[f"{layer}.weight_int4"], out[f"{layer}.weight_scale"] = self.packed[layer]
            else:
                out[name] = t.detach().contiguous()
        return out


def _load_int4(arch: dict, tensors: dict[str, torch.Tensor]) -> Int4Classifier:
    module = _rebuild(arch)
    packed, state = {}, {}
    shapes = {n: p.shape for n, p in module.state_dict().items()}
    for name, t in tensors.items():
        if name.endswith(".weight_int4"):
            layer = name[: -len(".weight_int4")]
            scale = tensors[f"{layer}.weight_scale"]
            packed[layer] = (t, scale)
            state[f"{layer}.weight"] = int4_dequantize(t, scale, shapes[f"{layer}.weight"][1])
        elif not name.endswith(".weight_scale"):
            state[name] = t
    module.load_state_dict(state)
    return Int4Classifier(module, arch, arch.get("family", "large"), packed)


# ----------------------------------------------------------------------------------------------
# Sparse (unstructured pruning): bitmask + values or CSR for the saved file; dense or sparse
# kernels at inference, whichever the pruning step measured faster.


def encode_sparse(w: torch.Tensor, storage: str, prefix: str) -> dict[str, torch.Tensor]:
    """A weight matrix or kernel (out, ...) as its non-zeros; the shape goes into the JSON."""
    flat = w.detach().reshape(w.shape[0], -1)
    if storage == "bitmask":
        mask = (flat != 0).flatten().numpy()
        return {f"{prefix}.mask": torch.from_numpy(np.packbits(mask)),  # numel/8 bytes
                f"{prefix}.values": flat.flatten()[torch.from_numpy(mask)].contiguous()}
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        csr = flat.to_sparse_csr()
    idx_dtype = torch.int16 if flat.shape[1] <= 32767 else torch.int32
    return {f"{prefix}.values": csr.values().contiguous(),
            f"{prefix}.col_indices": csr.col_indices().to(idx_dtype).contiguous(),
            f"{prefix}.crow_indices": csr.crow_indices().to(torch.int32).contiguous()}


def decode_sparse(tensors: dict[str, torch.Tensor], prefix: str, shape: list[int]) -> torch.Tensor:
    rows, cols = shape[0], int(np.prod(shape[1:]))
    values = tensors[f"{prefix}.values"]
    if f"{prefix}.mask" in tensors:
        mask = np.unpackbits(tensors[f"{prefix}.mask"].numpy())[: rows * cols].astype(bool)
        dense = torch.zeros(rows * cols, dtype=values.dtype)
        dense[torch.from_numpy(mask)] = values
        return dense.reshape(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        csr = torch.sparse_csr_tensor(tensors[f"{prefix}.crow_indices"].long(),
                                      tensors[f"{prefix}.col_indices"].long(), values, (rows, cols))
        return csr.to_dense().reshape(shape)


class SparseLinear(nn.Module):
    """y = x W^T + b with W held as a CSR matrix (out, in)."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        with warnings.catch_warnings():  # "sparse CSR support is in beta"
            warnings.simplefilter("ignore", UserWarning)
            self.weight_csr = linear.weight.detach().to_sparse_csr()
        self.bias = None if linear.bias is None else linear.bias.detach().clone()
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in) -> (B, out)
        y = torch.sparse.mm(self.weight_csr, x.t()).t()
        return y + self.bias if self.bias is not None else y


def sparse_runner(module: nn.Module) -> nn.Module:
    """A copy of ``module`` whose Linear layers run CSR kernels (convolutions stay dense)."""
    runner = copy.deepcopy(module)
    for name, m in list(runner.named_modules()):
        for child_name, child in list(m.named_children()):
            if isinstance(child, nn.Linear):
                setattr(m, child_name, SparseLinear(child))
    return runner.eval()


class SparseClassifier(TorchClassifier):
    """A pruned float network: the artifact stores only non-zeros; ``runner`` does inference.

    ``module`` keeps the dense weights (with zeros) so later steps (fine-tuning, quantisation)
    can take it; ``runner`` is either that module or a CSR copy, as ``execution`` says.
    """

    def __init__(self, module: nn.Module, arch: dict, family: str, storage: str, execution: str):
        super().__init__(module, arch, family)
        self.storage, self.execution = storage, execution
        self.runner = sparse_runner(self.module) if execution == "sparse" else self.module

    def logits(self, X: np.ndarray) -> torch.Tensor:
        with torch.inference_mode():
            return self.runner(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)))

    def _pruned_names(self) -> list[str]:
        return [f"{n}.weight" for n, _ in linear_like(self.module)]

    def state_tensors(self) -> dict[str, torch.Tensor]:
        state = {k: v.detach().contiguous() for k, v in self.module.state_dict().items()}
        if self.storage == "dense":
            return state
        out = {}
        for name, t in state.items():
            out.update(encode_sparse(t, self.storage, name) if name in self._pruned_names() else {name: t})
        return out

    def memory_bytes(self) -> int:
        if self.execution != "sparse":
            return super().memory_bytes()
        total = 0
        for m in self.runner.modules():
            if isinstance(m, SparseLinear):
                w = m.weight_csr
                total += sum(t.numel() * t.element_size()
                             for t in (w.values(), w.col_indices(), w.crow_indices()))
                total += 0 if m.bias is None else m.bias.numel() * m.bias.element_size()
            elif not list(m.children()):
                total += sum(p.numel() * p.element_size() for p in m.parameters(recurse=False))
        return total


def _load_sparse(arch: dict, tensors: dict[str, torch.Tensor]) -> SparseClassifier:
    info = arch["compression"]
    module = _rebuild(arch)
    state = {}
    for name, p in module.state_dict().items():
        state[name] = tensors[name] if name in tensors else decode_sparse(tensors, name, list(p.shape))
    module.load_state_dict(state)
    return SparseClassifier(module, arch, arch.get("family", "large"), info["storage"], info["execution"])


# ----------------------------------------------------------------------------------------------


def _load_plain(arch: dict, tensors: dict[str, torch.Tensor]) -> TorchClassifier:
    module = _rebuild(arch)
    module.load_state_dict(tensors)
    return TorchClassifier(module, arch, arch.get("family", "large"))


def _load_cast(arch: dict, tensors: dict[str, torch.Tensor]) -> CastClassifier:
    dtype = CAST_DTYPES[arch["compression"]["dtype"]]
    module = _rebuild(arch).to(dtype)
    module.load_state_dict(tensors)
    return CastClassifier(module, arch, arch.get("family", "large"), dtype)


LOADERS = {"fp32": _load_plain, "cast": _load_cast, "int8_dynamic": _load_int8,
           "int8_static": _load_int8, "int4": _load_int4, "sparse": _load_sparse}


def load_classifier(files: dict[str, bytes]) -> TorchClassifier:
    """Rebuild a torch classifier (plain or compressed) from its artifact files, without pickle."""
    try:
        arch = json.loads(files["architecture.json"])
        tensors = safetensors_load(files["model.safetensors"])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"not a Tradeoff Lab torch artifact (architecture.json + model.safetensors): "
                         f"{exc}") from None
    fmt = arch.get("compression", {}).get("format", "fp32")
    if fmt not in LOADERS:
        raise ValueError(f"unknown artifact format {fmt!r}; known: {', '.join(LOADERS)}")
    return LOADERS[fmt](arch, tensors)


__all__ = ["CastClassifier", "Int8Classifier", "Int4Classifier", "SparseClassifier", "SparseLinear",
           "load_classifier", "int4_quantize", "int4_dequantize", "encode_sparse", "decode_sparse",
           "quantize_dynamic_module", "quantize_static_module", "quiet_torch_ao", "require_torch",
           "float_module", "base_arch", "linear_like"]
