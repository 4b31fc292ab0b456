"""What may cross between a worker and the grading process: plain data, checked, rebuilt as base types."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from medgrade.worker import wire


def roundtrip(value, keep=None, lookup=None):
    enc = wire.Encoder(keep)
    tree = enc.encode(value)
    return wire.Decoder(enc.buffers, lookup=lookup).decode(tree)


def test_plain_values_come_back_equal_and_of_base_types():
    x = torch.arange(24.0).reshape(2, 3, 4)
    value = {"a": [1, 2.5, None, True, "s", float("nan")], (1, 2): (x, np.arange(3, dtype=np.int16)),
             "n": np.float32(1.5), "size": torch.Size([2, 3]), "dtype": torch.float64, "big": 1 << 80}
    out = roundtrip(value)
    assert torch.equal(out[(1, 2)][0], x) and type(out[(1, 2)][0]) is torch.Tensor
    assert out[(1, 2)][1].dtype == np.int16 and type(out["n"]) is np.float32
    assert out["size"] == torch.Size([2, 3]) and out["dtype"] is torch.float64 and out["big"] == 1 << 80
    assert out["a"][:5] == [1, 2.5, None, True, "s"] and np.isnan(out["a"][5])


@pytest.mark.parametrize("view", [lambda x: x.transpose(0, 2), lambda x: x[:, ::2, 1:],
                                  lambda x: x[:1, :1, :1].expand(4, 3, 2), lambda x: x.permute(2, 0, 1)[1:],
                                  lambda x: x.reshape(-1, 2)[:1, 1], lambda x: x[:1, 1:2, ::2]])
def test_views_keep_their_layout(view):
    t = view(torch.arange(24.0).reshape(2, 3, 4))
    out = roundtrip(t)
    assert torch.equal(out, t) and out.is_contiguous() == t.is_contiguous()
    # (a dimension of size 1 may have any stride: it is never stepped over)
    assert [s for s, n in zip(out.stride(), out.shape) if n > 1] == [s for s, n in zip(t.stride(), t.shape) if n > 1]


def test_lying_objects_do_not_cross():
    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

    class AlwaysEqual:
        def __eq__(self, other):
            return True

    out = roundtrip(torch.zeros(3).as_subclass(Liar))
    assert type(out) is torch.Tensor and not torch.equal(out, torch.ones(3))
    kept = {}
    opaque = roundtrip(AlwaysEqual(), keep=lambda v: kept.setdefault(len(kept) + 1, v) and len(kept))
    assert isinstance(opaque, wire.Opaque) and opaque != 1 and "AlwaysEqual" in repr(opaque)
    with pytest.raises(wire.WireError):
        roundtrip(AlwaysEqual())                       # no keeper: refused outright


@pytest.mark.parametrize("tamper", [
    lambda tree, bufs: bufs.__setitem__(0, bufs[0][:-1]),                 # short buffer
    lambda tree, bufs: tree.__setitem__("shape", [5, 5]),                 # shape that does not match
    lambda tree, bufs: tree.__setitem__("dtype", "object"),               # no such dtype
    lambda tree, bufs: tree.__setitem__("device", "cuda:7"),              # a device not here
    lambda tree, bufs: tree.__setitem__("T", "pickle"),                   # pickles are never read here
    lambda tree, bufs: tree.__setitem__("stride", [1 << 30, 1]),          # strides reaching past the buffer
])
def test_malformed_messages_are_refused(tamper):
    enc = wire.Encoder()
    tree = enc.encode(torch.arange(6.0).reshape(2, 3))
    tamper(tree, enc.buffers)
    with pytest.raises(wire.WireError):
        wire.Decoder(enc.buffers).decode(tree)
