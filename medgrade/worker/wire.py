"""Plain data across the process boundary, and nothing else.

The grader and the process that runs a submission exchange messages made
only of numbers, strings, lists, tuples, dicts, tensors and arrays: a JSON
header plus raw byte buffers. Decoding rebuilds base types only (a plain
``torch.Tensor``, never a subclass; no object with methods of its own), checks
every tensor's dtype, shape and byte count, and refuses anything else, so a
value with a fake ``__eq__`` or a tensor subclass that lies in comparisons
cannot cross. No pickle is ever read from the submission's side.

An object that is not plain data stays in the process that made it; the
other side receives an :class:`Opaque` stand-in that can only be passed back.
"""
from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

MAX_MESSAGE_BYTES = 1 << 30        # one result may not exceed 1 GiB
MAX_DEPTH = 32
MAX_ITEMS = 1_000_000
MAX_STRING = 100_000

_DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128,
    torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool)}
_NP_KINDS = "biufc?"


class WireError(Exception):
    """A message that is not plain data of the allowed kinds."""


@dataclass(frozen=True)
class Opaque:
    """Something the other process made that is not plain data: it can only be sent back."""
    id: int
    type_name: str

    def __repr__(self) -> str:
        return f"<an object of type {self.type_name}>"


class Encoder:
    """value -> (header tree, buffers). ``keep`` stores non-plain objects and returns their id."""

    def __init__(self, keep=None, pickle_others: bool = False):
        self.buffers: list[bytes] = []
        self.keep = keep
        self.pickle_others = pickle_others      # the grading side only: its inputs (a model) to a worker

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if value is None or type(value) in (bool, str):
            return value
        if type(value) is int:
            return value if abs(value) < 1 << 63 else {"T": "bigint", "v": str(value)}
        if type(value) is float:
            return value if math.isfinite(value) else {"T": "float", "v": repr(value)}
        if isinstance(value, torch.Tensor):
            return self._tensor(value)
        if isinstance(value, np.ndarray) and value.dtype.kind in _NP_KINDS:
            a = np.ascontiguousarray(value)
            self.buffers.append(a.tobytes())
            return {"T": "ndarray", "dtype": a.dtype.str, "shape": list(a.shape), "buf": len(self.buffers) - 1}
        if isinstance(value, np.generic) and np.dtype(type(value)).kind in _NP_KINDS:
            self.buffers.append(np.asarray(value).tobytes())
            return {"T": "npscalar", "dtype": np.asarray(value).dtype.str, "buf": len(self.buffers) - 1}
        if isinstance(value, torch.Size):
            return {"T": "size", "v": [int(v) for v in value]}
        if isinstance(value, torch.dtype):
            return {"T": "dtype", "v": str(value).removeprefix("torch.")}
        if isinstance(value, torch.device):
            return {"T": "device", "v": str(value)}
        if type(value) in (list, tuple):
            items = [self.encode(v, depth + 1) for v in value]
            return items if type(value) is list else {"T": "tuple", "v": items}
        if type(value) is dict:
            return {"T": "dict", "k": [self.encode(k, depth + 1) for k in value],
                    "v": [self.encode(v, depth + 1) for v in value.values()]}
        if isinstance(value, Opaque):
            return {"T": "opaque", "id": value.id, "type": value.type_name}
        if self.pickle_others:
            import pickle
            self.buffers.append(pickle.dumps(value))
            return {"T": "pickle", "buf": len(self.buffers) - 1}
        if self.keep is None:
            raise WireError(f"cannot send an object of type {type(value).__name__}")
        return {"T": "opaque", "id": self.keep(value), "type": _type_name(value)}

    def _tensor(self, t: torch.Tensor) -> dict:
        t = torch.Tensor._make_subclass(torch.Tensor, t) if type(t) is not torch.Tensor else t
        if t.layout != torch.strided or t.is_quantized or t.is_nested or t.device.type == "meta":
            raise WireError("only dense tensors can be sent")
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in _DTYPES:
            raise WireError(f"tensors of dtype {dtype} cannot be sent")
        device = str(t.device)
        data = t.detach().to("cpu")
        node = {"T": "tensor", "dtype": dtype, "shape": list(t.shape), "device": device,
                "grad": bool(t.requires_grad)}
        if data.numel() and not data.is_contiguous():
            # a view keeps its layout (strides, expanded dimensions): "works on non-contiguous
            # inputs" is a property the checks test, so the other side must get the same layout
            stride = list(data.stride())
            flat = torch.as_strided(data, (_span(data.shape, stride),), (1,), data.storage_offset())
            data, node["stride"] = flat, stride
        data = data.contiguous().reshape(-1)
        if data.numel() and data.stride() != (1,):     # size-1 dims with any stride count as contiguous
            data = torch.empty(data.shape, dtype=data.dtype).copy_(data)
        self.buffers.append(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
        node["buf"] = len(self.buffers) - 1
        return node


def _type_name(value: Any) -> str:
    t = type(value)
    return f"{t.__module__}.{t.__qualname__}"[:200]


class Decoder:
    """header tree + buffers -> value, validating everything. ``lookup`` resolves opaque ids."""

    def __init__(self, buffers: list[bytes], lookup=None, devices: tuple[str, ...] = ("cpu",),
                 unpickle: bool = False):
        self.unpickle = unpickle                # the worker only: never where the verdict is made
        self.buffers = buffers
        self.lookup = lookup
        self.devices = devices
        self.items = 0

    def decode(self, node: Any, depth: int = 0) -> Any:
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            raise WireError("value too large or nested too deeply")
        if node is None or type(node) in (bool, int, float):
            return node
        if type(node) is str:
            return node[:MAX_STRING]
        if type(node) is list:
            return [self.decode(v, depth + 1) for v in node]
        if type(node) is not dict:
            raise WireError("malformed message")
        kind = node.get("T")
        if kind == "tuple":
            return tuple(self.decode(v, depth + 1) for v in _list(node, "v"))
        if kind == "dict":
            keys, values = _list(node, "k"), _list(node, "v")
            if len(keys) != len(values):
                raise WireError("malformed dict")
            out = {}
            for k, v in zip(keys, values):
                key = self.decode(k, depth + 1)
                if not isinstance(key, (str, int, float, bool, tuple, type(None))):
                    raise WireError("dict keys must be plain values")
                out[key] = self.decode(v, depth + 1)
            return out
        if kind == "bigint":
            return int(str(node.get("v"))[:5000])
        if kind == "float":
            return float({"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(node.get("v")), "nan"))
        if kind == "tensor":
            return self._tensor(node)
        if kind == "ndarray":
            dtype = self._np_dtype(node.get("dtype"))
            shape = _shape(node.get("shape"))
            buf = self._buffer(node, math.prod(shape) * dtype.itemsize)
            return np.frombuffer(bytearray(buf), dtype=dtype).reshape(shape)
        if kind == "npscalar":
            dtype = self._np_dtype(node.get("dtype"))
            buf = self._buffer(node, dtype.itemsize)
            return np.frombuffer(bytearray(buf), dtype=dtype)[0]
        if kind == "size":
            return torch.Size(_shape(node.get("v")))
        if kind == "dtype":
            if node.get("v") not in _DTYPES:
                raise WireError("unknown dtype")
            return _DTYPES[node["v"]]
        if kind == "device":
            return torch.device(self._device(node.get("v")))
        if kind == "pickle" and self.unpickle:
            import pickle
            i = node.get("buf")
            if type(i) is not int or not 0 <= i < len(self.buffers):
                raise WireError("malformed buffer reference")
            return pickle.loads(self.buffers[i])
        if kind == "opaque":
            ident, type_name = node.get("id"), str(node.get("type", "object"))[:200]
            if type(ident) is not int:
                raise WireError("malformed object reference")
            if self.lookup is not None:
                return self.lookup(ident)
            return Opaque(ident, type_name)
        raise WireError("malformed message")

    def _tensor(self, node: dict) -> torch.Tensor:
        dtype = _DTYPES.get(node.get("dtype"))
        if dtype is None:
            raise WireError("unknown tensor dtype")
        shape = _shape(node.get("shape"))
        itemsize = torch.empty(0, dtype=dtype).element_size()
        stride = node.get("stride")
        if stride is not None:
            if type(stride) is not list or len(stride) != len(shape) or not math.prod(shape) \
                    or not all(type(s) is int and 0 <= s < 1 << 40 for s in stride):
                raise WireError("malformed strides")
            span = _span(shape, stride)
            buf = self._buffer(node, span * itemsize)
            flat = torch.frombuffer(bytearray(buf), dtype=torch.uint8).view(dtype)
            t = torch.as_strided(flat, shape, stride)
        else:
            buf = self._buffer(node, math.prod(shape) * itemsize)
            if buf:
                t = torch.frombuffer(bytearray(buf), dtype=torch.uint8).view(dtype).reshape(shape)
            else:
                t = torch.empty(shape, dtype=dtype)
        device = self._device(node.get("device", "cpu"))
        if device != "cpu":
            t = t.to(device)
        if node.get("grad") is True and (dtype.is_floating_point or dtype.is_complex):
            t.requires_grad_(True)
        return t

    def _device(self, name: Any) -> str:
        if name not in self.devices:
            raise WireError(f"tensors on device {str(name)[:40]!r} cannot be received here")
        return name

    @staticmethod
    def _np_dtype(name: Any) -> np.dtype:
        try:
            dtype = np.dtype(str(name))
        except TypeError:
            raise WireError("unknown array dtype") from None
        if dtype.kind not in _NP_KINDS or dtype.hasobject:
            raise WireError("arrays of this dtype cannot be received")
        return dtype

    def _buffer(self, node: dict, expected: int) -> bytes:
        i = node.get("buf")
        if type(i) is not int or not 0 <= i < len(self.buffers):
            raise WireError("malformed buffer reference")
        if len(self.buffers[i]) != expected:
            raise WireError("buffer size does not match the declared shape")
        return self.buffers[i]


def _span(shape, stride) -> int:
    """Elements of storage a strided view of ``shape`` reaches (it must not be empty)."""
    return 1 + sum((n - 1) * st for n, st in zip(shape, stride))


def _list(node: dict, key: str) -> list:
    v = node.get(key)
    if type(v) is not list:
        raise WireError("malformed message")
    return v


def _shape(v: Any) -> tuple[int, ...]:
    if type(v) is not list or len(v) > 16 or not all(type(s) is int and 0 <= s < 1 << 40 for s in v):
        raise WireError("malformed shape")
    if math.prod(v) > MAX_MESSAGE_BYTES:
        raise WireError("tensor too large")
    return tuple(v)


def devices_here() -> tuple[str, ...]:
    return ("cpu",) + tuple(f"cuda:{i}" for i in range(torch.cuda.device_count())) \
        if torch.cuda.is_available() else ("cpu",)


# ---------------------------------------------------------------- framing over a file descriptor
# A message: 8-byte little-endian header length, the JSON header
# {"body": tree, "sizes": [len(buffer), ...]}, then the buffers.

class Timeout(Exception):
    pass


class Closed(Exception):
    pass


def send(fd: int, body: Any, buffers: list[bytes], deadline: float | None = None) -> None:
    header = json.dumps({"body": body, "sizes": [len(b) for b in buffers]}, allow_nan=False).encode()
    _write_all(fd, struct.pack("<Q", len(header)) + header, deadline)
    for b in buffers:
        _write_all(fd, b, deadline)


def receive(fd: int, deadline: float | None = None) -> tuple[Any, list[bytes]]:
    (n,) = struct.unpack("<Q", _read_exact(fd, 8, deadline))
    if n > 64 << 20:
        raise WireError("message header too large")
    try:
        header = json.loads(_read_exact(fd, n, deadline))
    except ValueError:
        raise WireError("malformed message header") from None
    sizes = header.get("sizes") if type(header) is dict else None
    if type(sizes) is not list or not all(type(s) is int and s >= 0 for s in sizes) \
            or sum(sizes) > MAX_MESSAGE_BYTES:
        raise WireError("message too large or malformed")
    return header.get("body"), [_read_exact(fd, s, deadline) for s in sizes]


def _wait(fd: int, deadline: float | None, write: bool) -> None:
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise Timeout()
        r, w, _ = select.select([] if write else [fd], [fd] if write else [], [], left)
        if r or w:
            return


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        _wait(fd, deadline, write=False)
        try:
            chunk = os.read(fd, min(n - got, 1 << 20))
        except BlockingIOError:
            continue
        except ConnectionResetError:
            raise Closed() from None
        if not chunk:
            raise Closed()
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        _wait(fd, deadline, write=True)
        try:
            n = os.write(fd, view[: 1 << 20])
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            raise Closed() from None
        view = view[n:]
