"""Wrong (and differently-right) answers to the exercises of CBAM (chapter 05).

Merged into wrong_implementations.WRONG and RIGHT; see that module
for what the tests require of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------
# cbam-channel-pool: [mean; max] along the channel axis, (B, C, H, W) -> (B, 2, H, W)
# ---------------------------------------------------------------------------


def pool_max_first(x):  # the official code's order, not Eq. 3's
    return torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)


def pool_over_positions(x):  # pools over H x W: the channel gate's descriptors, not the spatial gate's
    return torch.stack([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)


def pool_sum_not_mean(x):
    return torch.cat([x.sum(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)


def pool_max_only(x):  # the blog's spatial gate: max twice
    peak = x.amax(dim=1, keepdim=True)
    return torch.cat([peak, peak], dim=1)


def pool_abs_max(x):
    return torch.cat([x.mean(dim=1, keepdim=True), x.abs().amax(dim=1, keepdim=True)], dim=1)


def pool_stacked_on_batch(x):  # concatenated along the wrong axis
    return torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=0)


# ---------------------------------------------------------------------------
# cbam-channel-gate: M_c of Eq. 2, (B, C, H, W) -> (B, C, 1, 1)
# ---------------------------------------------------------------------------


class _ChannelGateInit(nn.Module):
    """The given __init__ of the channel-gate exercise."""

    def __init__(self, channels, reduction=16, pool_types=("avg", "max")):
        super().__init__()
        self.channels = channels
        self.pool_types = tuple(pool_types)
        self.mlp = nn.Sequential(
            nn.Linear(channels, channels // reduction),
            nn.ReLU(),
            nn.Linear(channels // reduction, channels),
        )

    def descriptors(self, x):
        pools = {"avg": x.mean(dim=(2, 3)), "max": x.amax(dim=(2, 3))}
        return [pools[kind] for kind in self.pool_types]


class GatePoolsAddedBeforeMLP(_ChannelGateInit):  # one MLP pass on avg + max
    def forward(self, x):
        return torch.sigmoid(self.mlp(sum(self.descriptors(x))))[:, :, None, None]


class GateMeanOfSigmoids(_ChannelGateInit):  # a sigmoid per descriptor, then averaged
    def forward(self, x):
        gates = [torch.sigmoid(self.mlp(d)) for d in self.descriptors(x)]
        return (sum(gates) / len(gates))[:, :, None, None]


class GateIgnoresPoolTypes(_ChannelGateInit):  # always avg and max
    def forward(self, x):
        logits = self.mlp(x.mean(dim=(2, 3))) + self.mlp(x.amax(dim=(2, 3)))
        return torch.sigmoid(logits)[:, :, None, None]


class GateReturnsRefinedMap(_ChannelGateInit):  # what the official ChannelGate returns: F', not M_c
    def forward(self, x):
        return x * torch.sigmoid(sum(self.mlp(d) for d in self.descriptors(x)))[:, :, None, None]


class GateSoftmax(_ChannelGateInit):
    def forward(self, x):
        return torch.softmax(sum(self.mlp(d) for d in self.descriptors(x)), dim=1)[:, :, None, None]


class GateNoReLU(_ChannelGateInit):
    def forward(self, x):
        first, _, second = self.mlp
        return torch.sigmoid(sum(second(first(d)) for d in self.descriptors(x)))[:, :, None, None]


class GateMaxOverBatch(_ChannelGateInit):  # the max is taken over the whole batch, not per image
    def forward(self, x):
        pools = {"avg": x.mean(dim=(2, 3)), "max": x.amax(dim=(0, 2, 3)).expand(len(x), -1)}
        return torch.sigmoid(sum(self.mlp(pools[kind]) for kind in self.pool_types))[:, :, None, None]


class GateCorrectAdaptivePools(_ChannelGateInit):  # correct, written differently
    def forward(self, x):
        pools = {"avg": F.adaptive_avg_pool2d, "max": F.adaptive_max_pool2d}
        logits = 0
        for kind in reversed(self.pool_types):
            logits = logits + self.mlp(pools[kind](x, 1).flatten(1))
        return logits.sigmoid().unsqueeze(-1).unsqueeze(-1)


# ---------------------------------------------------------------------------
# cbam-parameters: 2*C*h + h + C + 2*k*k + 2 (+1 instead of +2 without the BatchNorm)
# ---------------------------------------------------------------------------


def _mlp(channels, reduction):
    h = channels // reduction
    return 2 * channels * h + h + channels


def count_two_mlps(channels, reduction=16, kernel_size=7, spatial_norm=True):  # one MLP per descriptor
    return 2 * _mlp(channels, reduction) + 2 * kernel_size**2 + (2 if spatial_norm else 1)


def count_no_batchnorm(channels, reduction=16, kernel_size=7, spatial_norm=True):
    return _mlp(channels, reduction) + 2 * kernel_size**2 + (0 if spatial_norm else 1)


def count_one_input_map(channels, reduction=16, kernel_size=7, spatial_norm=True):  # k*k, not 2*k*k
    return _mlp(channels, reduction) + kernel_size**2 + (2 if spatial_norm else 1)


def count_running_statistics(channels, reduction=16, kernel_size=7, spatial_norm=True):  # buffers are not parameters
    return _mlp(channels, reduction) + 2 * kernel_size**2 + (4 if spatial_norm else 1)


def count_no_mlp_biases(channels, reduction=16, kernel_size=7, spatial_norm=True):
    return 2 * channels * (channels // reduction) + 2 * kernel_size**2 + (2 if spatial_norm else 1)


# ---------------------------------------------------------------------------
# cbam-fix: Eq. 3 as written, sigma(f^{kxk}([AvgPool(F); MaxPool(F)])), a biased convolution, no BatchNorm
# ---------------------------------------------------------------------------


class _SpatialInit(nn.Module):
    """The corrected __init__ of the fix exercise."""

    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)


class SpatialMaxTwice(_SpatialInit):  # the blog's max pooling, fed into both input maps
    def forward(self, x):
        peak = x.amax(dim=1, keepdim=True)
        return torch.sigmoid(self.conv(torch.cat([peak, peak], dim=1)))


class SpatialMaxFirst(_SpatialInit):  # [max; mean], the official code's order
    def forward(self, x):
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))


class SpatialUnpadded(nn.Module):  # the blog's unpadded convolution: the map shrinks by k - 1
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size)

    def forward(self, x):
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))


class SpatialPaddingThree(nn.Module):  # right for k = 7 only
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=3)

    def forward(self, x):
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))


class SpatialSumOverChannels(_SpatialInit):
    def forward(self, x):
        pooled = torch.cat([x.sum(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))


class SpatialReturnsRefinedMap(_SpatialInit):  # x * M_s instead of M_s
    def forward(self, x):
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class SpatialNoSigmoid(_SpatialInit):
    def forward(self, x):
        return self.conv(torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1))


class SpatialCorrectStack(_SpatialInit):  # correct, written differently
    def forward(self, x):
        pooled = torch.stack([x.sum(dim=1) / x.shape[1], x.max(dim=1).values], dim=1)
        return self.conv(pooled).sigmoid()


# ---------------------------------------------------------------------------
# cbam-module: the whole CBAM with the official BatchNorm (momentum 0.01, unbiased conv)
# ---------------------------------------------------------------------------


class _Gate(nn.Module):
    def __init__(self, channels, reduction):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(channels, channels // reduction), nn.ReLU(),
                                 nn.Linear(channels // reduction, channels))

    def forward(self, x):
        return torch.sigmoid(self.mlp(x.mean(dim=(2, 3))) + self.mlp(x.amax(dim=(2, 3))))[:, :, None, None]


class _Spatial(nn.Module):
    def __init__(self, kernel_size, momentum=0.01):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.norm = nn.BatchNorm2d(1, momentum=momentum)

    def forward(self, x):
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.norm(self.conv(pooled)))


class _CBAMInit(nn.Module):
    momentum = 0.01

    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__()
        self.channel_gate = _Gate(channels, reduction)
        self.spatial_gate = _Spatial(kernel_size, self.momentum)


class CBAMDefaultMomentum(_CBAMInit):  # BatchNorm2d's default momentum 0.1; the official code uses 0.01
    momentum = 0.1

    def forward(self, x):
        x = x * self.channel_gate(x)
        return x * self.spatial_gate(x)


class CBAMSpatialFirst(_CBAMInit):
    def forward(self, x):
        x = x * self.spatial_gate(x)
        return x * self.channel_gate(x)


class CBAMParallel(_CBAMInit):  # both gates computed from F
    def forward(self, x):
        return x * self.channel_gate(x) * self.spatial_gate(x)


class CBAMSpatialGateSeesF(_CBAMInit):  # M_s(F) applied to F' instead of M_s(F')
    def forward(self, x):
        refined = x * self.channel_gate(x)
        return refined * self.spatial_gate(x)


class CBAMAverageOnly(_CBAMInit):  # SE's squeeze in the channel gate
    def forward(self, x):
        mlp = self.channel_gate.mlp
        x = x * torch.sigmoid(mlp(x.mean(dim=(2, 3))))[:, :, None, None]
        return x * self.spatial_gate(x)


class CBAMResidual(_CBAMInit):
    def forward(self, x):
        refined = x * self.channel_gate(x)
        return x + refined * self.spatial_gate(refined)


class CBAMNoBatchNorm(nn.Module):  # Eq. 3 as written: a biased convolution, no BatchNorm
    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__()
        self.channel_gate = _Gate(channels, reduction)
        self.spatial_gate = nn.Module()
        self.spatial_gate.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        x = x * self.channel_gate(x)
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial_gate.conv(pooled))


class CBAMCorrectFunctional(_CBAMInit):  # correct, with the BatchNorm written out by hand
    def forward(self, x):
        x = x * self.channel_gate(x)
        norm = self.spatial_gate.norm
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        logits = F.batch_norm(
            self.spatial_gate.conv(pooled), norm.running_mean, norm.running_var, norm.weight, norm.bias,
            training=self.training, momentum=0.01, eps=norm.eps,
        )
        if self.training:
            norm.num_batches_tracked.add_(1)
        return x * torch.sigmoid(logits)


WRONG: dict = {
    "cbam-channel-pool": {
        "max first, as the official code stacks": pool_max_first,
        "pooled over positions": pool_over_positions,
        "sum instead of mean": pool_sum_not_mean,
        "max twice": pool_max_only,
        "max of absolute values": pool_abs_max,
        "stacked along the batch": pool_stacked_on_batch,
    },
    "cbam-channel-gate": {
        "pools added before the MLP": GatePoolsAddedBeforeMLP,
        "mean of two sigmoids": GateMeanOfSigmoids,
        "ignores pool_types": GateIgnoresPoolTypes,
        "returns F' instead of the gate": GateReturnsRefinedMap,
        "softmax instead of sigmoid": GateSoftmax,
        "no ReLU": GateNoReLU,
        "max over the whole batch": GateMaxOverBatch,
    },
    "cbam-parameters": {
        "one MLP per descriptor": count_two_mlps,
        "no BatchNorm": count_no_batchnorm,
        "one input map": count_one_input_map,
        "running statistics counted": count_running_statistics,
        "no MLP biases": count_no_mlp_biases,
    },
    "cbam-fix": {
        "max twice": SpatialMaxTwice,
        "max first": SpatialMaxFirst,
        "unpadded convolution": SpatialUnpadded,
        "padding fixed at 3": SpatialPaddingThree,
        "sum over channels": SpatialSumOverChannels,
        "returns x times the gate": SpatialReturnsRefinedMap,
        "no sigmoid": SpatialNoSigmoid,
    },
    "cbam-module": {
        "BatchNorm momentum 0.1": CBAMDefaultMomentum,
        "spatial gate first": CBAMSpatialFirst,
        "gates in parallel": CBAMParallel,
        "spatial gate computed from F": CBAMSpatialGateSeesF,
        "average pooling only": CBAMAverageOnly,
        "residual added": CBAMResidual,
        "no BatchNorm": CBAMNoBatchNorm,
    },
}
RIGHT: dict = {
    "cbam-channel-pool": {
        "stack of two reductions": lambda x: torch.stack([x.mean(1), x.max(1).values], dim=1),
    },
    "cbam-channel-gate": {"adaptive pools, reversed order": GateCorrectAdaptivePools},
    "cbam-parameters": {
        "layer by layer": lambda channels, reduction=16, kernel_size=7, spatial_norm=True: sum(
            [channels * (channels // reduction), channels // reduction,  # W_0 and its bias
             (channels // reduction) * channels, channels,  # W_1 and its bias
             2 * kernel_size * kernel_size,  # the k x k convolution, 2 maps in, 1 out
             2 if spatial_norm else 1]  # BatchNorm's weight and bias, or the convolution's bias
        ),
    },
    "cbam-fix": {"stacked reductions": SpatialCorrectStack},
    "cbam-module": {"BatchNorm by hand": CBAMCorrectFunctional},
}
