"""Fixtures for the "observers" family: PyTorch 1.13's observers fed seeded
batches, for tests/converter/test_observers.cc.

Case kinds (params.txt `kind`):
  sequence   batch0..batch<n-1>.npy: the tensors fed, in order, one forward
             call each (shared by the observer cases that name it).
  observer   `observer` minmax|moving_average|per_channel|moving_average_per_channel|
             histogram; `qint8`, `symmetric`, `reduce_range`, `ch_axis`, `eps`,
             `range` (histogram: torch113 = PyTorch 1.13's own observer, exact =
             the same observer with the float histc range of later versions),
             `sequence`. Expected state after the sequence: min_val.npy,
             max_val.npy, [histogram.npy, search.npy = the L2 search's new
             min/max], scale.npy, zero_point.npy (calculate_qparams()).
  sum        values.npy cut into `lengths`; sums.npy = torch.sum of each piece
             (float32; the summation order is PyTorch's cascade sum).
"""

import numpy as np
import torch
from torch.ao.quantization.observer import (
    HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver, PerChannelMinMaxObserver)

from fixture_lib import reset_family, save_case

FAMILY = "observers"
F32 = np.float32


class ExactRangeHistogramObserver(HistogramObserver):
    """HistogramObserver with torch.histc given the float min/max instead of
    int(min)/int(max) (pytorch/pytorch#83672); everything else is 1.13's."""

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach()
        min_val, max_val = self.min_val, self.max_val
        same_values = min_val.item() == max_val.item()
        is_uninitialized = min_val == float("inf") and max_val == float("-inf")
        if is_uninitialized or same_values:
            min_val, max_val = torch.aminmax(x)
            self.min_val.resize_(min_val.shape)
            self.min_val.copy_(min_val)
            self.max_val.resize_(max_val.shape)
            self.max_val.copy_(max_val)
            torch.histc(x, self.bins, min=float(min_val), max=float(max_val), out=self.histogram)
            return x_orig
        new_min, new_max = torch.aminmax(x)
        combined_min = torch.min(new_min, min_val)
        combined_max = torch.max(new_max, max_val)
        combined_min, combined_max, downsample_rate, start_idx = self._adjust_min_max(
            combined_min, combined_max, self.upsample_rate)
        combined_histogram = torch.histc(x, self.bins, min=float(combined_min),
                                         max=float(combined_max))
        if combined_min == min_val and combined_max == max_val:
            combined_histogram += self.histogram
        else:
            combined_histogram = self._combine_histograms(
                combined_histogram, self.histogram, self.upsample_rate, downsample_rate,
                start_idx, self.bins)
        self.histogram.detach_().resize_(combined_histogram.shape)
        self.histogram.copy_(combined_histogram)
        self.min_val.detach_().resize_(combined_min.shape)
        self.min_val.copy_(combined_min)
        self.max_val.detach_().resize_(combined_max.shape)
        self.max_val.copy_(combined_max)
        return x_orig


def _sequences(rng):
    shape = (2, 4, 5, 5)
    n = lambda s=1.0: (s * rng.standard_normal(shape)).astype(F32)
    outliers = n()
    outliers.flat[[3, 77, 150]] = [61.0, -45.0, 88.5]
    return {
        "normal": [n(), n(1.5), n(0.5)],
        # [-2.5, 3.7]: 1.13's int() range drops about a fifth of the data.
        "notes_range": [rng.uniform(-2.5, 3.7, shape).astype(F32) for _ in range(3)],
        # (-0.7, 0.9): int() gives 0, 0 and histc falls back to the data range.
        "small": [rng.uniform(-0.7, 0.9, shape).astype(F32) for _ in range(2)],
        "zero_then_normal": [np.zeros(shape, F32), n(), np.zeros(shape, F32), n(2.0)],
        "constant_then_normal": [np.full(shape, 0.7, F32), n(), np.full(shape, -1.25, F32)],
        "positive": [np.abs(n(3.0)), np.abs(n(1.0)), np.abs(n(6.0))],
        "negative": [-np.abs(n(2.0)) - 0.5, -np.abs(n(1.0))],
        "huge_range": [(rng.uniform(-3e4, 5e4, shape)).astype(F32), n(), (
            rng.uniform(-9e4, 1e5, shape)).astype(F32)],
        "outliers": [outliers, n(), n(0.8)],
        "growing": [n(0.01), n(0.1), n(1.0), n(7.0)],
        "weights": [(0.2 * rng.standard_normal((6, 3, 3, 3))).astype(F32)],
    }


def _make(observer, qint8, symmetric, reduce_range, ch_axis, eps, hist_range):
    dtype = torch.qint8 if qint8 else torch.quint8
    per_tensor = torch.per_tensor_symmetric if symmetric else torch.per_tensor_affine
    per_channel = torch.per_channel_symmetric if symmetric else torch.per_channel_affine
    kw = dict(dtype=dtype, reduce_range=reduce_range, eps=eps)
    if observer == "minmax":
        return MinMaxObserver(qscheme=per_tensor, **kw)
    if observer == "moving_average":
        return MovingAverageMinMaxObserver(qscheme=per_tensor, **kw)
    if observer == "per_channel":
        return PerChannelMinMaxObserver(ch_axis=ch_axis, qscheme=per_channel, **kw)
    if observer == "moving_average_per_channel":
        return MovingAveragePerChannelMinMaxObserver(ch_axis=ch_axis, qscheme=per_channel, **kw)
    cls = HistogramObserver if hist_range == "torch113" else ExactRangeHistogramObserver
    return cls(qscheme=per_tensor, **kw)


def _observer_cases(seqs):
    eps = float(torch.finfo(torch.float32).eps)
    cases = []
    acts = ["normal", "notes_range", "small", "zero_then_normal", "constant_then_normal",
            "positive", "negative", "huge_range", "outliers", "growing"]
    for obs in ("minmax", "moving_average"):
        for seq in acts:
            for rr in (False, True):
                cases.append((obs, False, False, rr, 0, eps, "", seq))
        cases.append((obs, True, True, False, 0, eps, "", "weights"))
        cases.append((obs, True, True, False, 0, eps, "", "outliers"))
    for obs in ("per_channel", "moving_average_per_channel"):
        cases.append((obs, True, True, False, 0, eps, "", "weights"))
        cases.append((obs, True, True, True, 0, eps, "", "weights"))
        for seq in ("normal", "zero_then_normal", "positive", "huge_range"):
            cases.append((obs, False, False, False, 1, eps, "", seq))
            cases.append((obs, False, False, True, 1, eps, "", seq))
        cases.append((obs, True, True, False, 1, 2.0 ** -12, "", "zero_then_normal"))
    for hist_range in ("torch113", "exact"):
        for seq in acts:
            for rr in (False, True):
                cases.append(("histogram", False, False, rr, 0, eps, hist_range, seq))
        cases.append(("histogram", True, True, False, 0, 2.0 ** -12, hist_range, "normal"))
        cases.append(("histogram", True, True, False, 0, 2.0 ** -12, hist_range, "outliers"))
    return cases


def _sum_case(rng):
    lengths = [1, 3, 5, 7, 8, 9, 15, 31, 32, 33, 64, 100, 255, 2048, 2048, 3001, 5000]
    pieces, sums = [], []
    for k, n in enumerate(lengths):
        scale = 10.0 ** rng.uniform(-3, 3, n)
        v = (rng.standard_normal(n) * scale).astype(F32)
        if k == 13:
            v = np.abs(v)
        pieces.append(v)
        sums.append(torch.sum(torch.from_numpy(v)).item())
    save_case(FAMILY, "sum", {"values": np.concatenate(pieces), "sums": np.array(sums, F32)},
              {"kind": "sum", "lengths": lengths})


def generate():
    reset_family(FAMILY)
    rng = np.random.default_rng(20240813)
    seqs = _sequences(rng)
    count = 0
    for name, batches in seqs.items():
        save_case(FAMILY, "seq_" + name, {"batch%d" % i: b for i, b in enumerate(batches)},
                  {"kind": "sequence", "nbatches": len(batches)})
        count += 1
    for k, (obs, qint8, sym, rr, axis, eps, hist_range, seq) in enumerate(_observer_cases(seqs)):
        o = _make(obs, qint8, sym, rr, axis, eps, hist_range)
        for b in seqs[seq]:
            o(torch.from_numpy(b))
        arrays = {"min_val": np.atleast_1d(o.min_val.numpy()).astype(F32),
                  "max_val": np.atleast_1d(o.max_val.numpy()).astype(F32)}
        if obs == "histogram":
            arrays["histogram"] = o.histogram.numpy().astype(F32)
            if o.min_val.item() == o.max_val.item():
                # Zero bin width: the search keeps [min, min] whatever bins it
                # visits (and visits all 100000 steps, too slow in Python).
                lo = hi = o.min_val
                scale, zp = o._calculate_qparams(lo, hi)
            else:
                lo, hi = o._non_linear_param_search()
                scale, zp = o.calculate_qparams()
            arrays["search"] = np.array([float(lo), float(hi)], F32)
        else:
            scale, zp = o.calculate_qparams()
        arrays["scale"] = np.atleast_1d(scale.numpy()).astype(F32)
        arrays["zero_point"] = np.atleast_1d(zp.numpy()).astype(np.int64)
        params = {"kind": "observer", "observer": obs, "qint8": qint8, "symmetric": sym,
                  "reduce_range": rr, "ch_axis": axis, "eps": eps, "sequence": seq,
                  "range": hist_range or "none", "qmin": o.quant_min, "qmax": o.quant_max}
        name = "%03d_%s_%s%s%s" % (k, obs, seq, "_rr" if rr else "",
                                   "_" + hist_range if hist_range else "")
        save_case(FAMILY, name, arrays, params)
        count += 1
    _sum_case(rng)
    return count + 1
