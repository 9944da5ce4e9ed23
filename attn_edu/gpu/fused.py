"""Drop-in modules whose forward runs the Triton kernels.

Each class subclasses its reference module and replaces only ``forward``: it
has the same constructor, submodules, parameters and buffers, so its
``state_dict`` is the reference's and ``load_state_dict`` works both ways.
The reference ``gate``/``threshold`` methods are inherited unchanged (they
stay the readable torch version).

The kernel files import Triton, so they are imported inside ``forward``, on
first use.
"""

from __future__ import annotations

import torch

from .. import modules
from .._checks import check_batch_for_norm, check_feature_map


class FusedSqueezeExcitation(modules.SqueezeExcitation):
    """SE with the kernels of ``attn_edu.gpu.channel_gate``: 2 passes over x forward."""

    def excite(self, z: torch.Tensor) -> torch.Tensor:
        """Eq. 3 on the pooled means z, (B, C) -> (B, C)."""
        hidden = torch.relu(self.down(z.to(self.down.weight.dtype)))  # delta(W_1 z)
        return torch.sigmoid(self.up(hidden))  # sigma(W_2 ...)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .channel_gate import channel_gate

        check_feature_map(self.who, self.channels, x)
        return channel_gate(x, self.excite, self.parameters())


class FusedChannelSE(modules.ChannelSE):
    """cSE with the kernels of ``attn_edu.gpu.channel_gate`` (SE's, with reduction 2)."""

    def excite(self, z: torch.Tensor) -> torch.Tensor:
        """sigma(W_1 delta(W_2 z)), (B, C) -> (B, C)."""
        return torch.sigmoid(self.up(torch.relu(self.down(z.to(self.down.weight.dtype)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .channel_gate import channel_gate

        check_feature_map(f"ChannelSE(channels={self.channels})", self.channels, x)
        return channel_gate(x, self.excite, self.parameters())


class FusedEfficientChannelAttention(modules.EfficientChannelAttention):
    """ECA with the kernels of ``attn_edu.gpu.channel_gate``: only the gate function differs from SE."""

    def excite(self, y: torch.Tensor) -> torch.Tensor:
        """omega = sigma(C1D_k(y)), Eq. 9: (B, C) -> (B, 1, C) -> (B, C)."""
        return torch.sigmoid(self.conv(y.to(self.conv.weight.dtype)[:, None, :]))[:, 0, :]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .channel_gate import channel_gate

        check_feature_map(f"EfficientChannelAttention(channels={self.channels})", self.channels, x)
        return channel_gate(x, self.excite, self.parameters())


class FusedSpatialSE(modules.SpatialSE):
    """sSE with the kernels of ``attn_edu.gpu.spatial_gate``: one pass over x forward."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .spatial_gate import spatial_gate

        check_feature_map(f"SpatialSE(channels={self.channels})", self.channels, x)
        return spatial_gate(x, self.squeeze.weight, self.squeeze.bias)


class FusedConcurrentSE(modules.ConcurrentSE):
    """scSE with the kernels of ``attn_edu.gpu.spatial_gate``: 2 passes over x forward.

    Its ``cse`` and ``sse`` children stay reference modules (they only hold
    the parameters); the fused forward reads their weights.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .spatial_gate import concurrent_gate

        check_feature_map(f"ConcurrentSE(channels={self.channels})", self.channels, x)
        cse = self.cse

        def excite(z: torch.Tensor) -> torch.Tensor:  # cSE's gate from the means, (B, C)
            return torch.sigmoid(cse.up(torch.relu(cse.down(z.to(cse.down.weight.dtype)))))

        return concurrent_gate(
            x, excite, tuple(cse.parameters()), self.sse.squeeze.weight, self.sse.squeeze.bias, self.aggregation
        )


class FusedCBAM(modules.CBAM):
    """CBAM with the kernels of ``attn_edu.gpu.cbam``: 3 passes over x forward (2 without the spatial gate).

    Pooling types "avg" and "max" only ("lp" and "lse" have no kernel).
    Train-mode BatchNorm of the spatial gate runs in torch, on the (B, 1, H, W) map.
    """

    def channel_logits(self, pooled: dict) -> torch.Tensor:
        """MLP(AvgPool) + MLP(MaxPool), Eq. 2 before the sigmoid: (B, C) each -> (B, C)."""
        mlp = self.channel_gate.mlp
        dtype = mlp[0].weight.dtype
        return sum(mlp(pooled[kind].to(dtype)) for kind in self.channel_gate.pool_types)

    def spatial_logits(self, stats: torch.Tensor) -> torch.Tensor:
        """BN(f^{7x7}([mean; max])), Eq. 3 before the sigmoid: (B, 2, H, W) -> (B, 1, H, W)."""
        gate = self.spatial_gate
        return gate.norm(gate.conv(stats.to(gate.conv.weight.dtype)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .cbam import cbam

        check_feature_map(f"CBAM(channels={self.channels})", self.channels, x)
        spatial = self.spatial_logits if self.spatial_gate is not None else None
        return cbam(x, self.channel_logits, spatial, self.channel_gate.pool_types, self.parameters())


class FusedShrinkage(modules.Shrinkage):
    """DRSN shrinkage with the kernels of ``attn_edu.gpu.shrinkage``: 2 passes over x forward.

    The scale network (FC, BatchNorm1d, ReLU, FC, sigmoid) runs in torch on
    the (B, C) means, in train mode too.
    """

    def threshold_from_means(self, abs_mean: torch.Tensor) -> torch.Tensor:
        """tau from a = GAP(|x|), (B, C) -> (B, C) (DRSN-CS: one value repeated over C)."""
        a = abs_mean.to(self.scale_net[0].weight.dtype)
        alpha = self.scale_net(a)  # (B, C) for CW, (B, 1) for CS
        if self.channel_wise:
            return alpha * a  # tau_c = alpha_c * a_c
        return (alpha * a.mean(dim=1, keepdim=True)).expand_as(a)  # tau = alpha * mean_c a_c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .shrinkage import shrink

        kind = "CW" if self.channel_wise else "CS"
        who = f"Shrinkage[{kind}](channels={self.channels})"
        check_feature_map(who, self.channels, x, spatial="L | H, W")
        check_batch_for_norm(who, x, self.training)
        return shrink(x, self.threshold_from_means, self.parameters())


# reference class -> fused class
FUSED = {
    modules.SqueezeExcitation: FusedSqueezeExcitation,
    modules.ChannelSE: FusedChannelSE,
    modules.SpatialSE: FusedSpatialSE,
    modules.ConcurrentSE: FusedConcurrentSE,
    modules.CBAM: FusedCBAM,
    modules.EfficientChannelAttention: FusedEfficientChannelAttention,
    modules.Shrinkage: FusedShrinkage,
}
