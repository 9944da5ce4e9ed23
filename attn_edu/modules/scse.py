"""Channel, spatial and concurrent squeeze & excitation (cSE, sSE, scSE).

Abhijit Guha Roy, Nassir Navab, Christian Wachinger. "Concurrent Spatial and
Channel 'Squeeze & Excitation' in Fully Convolutional Networks." MICCAI 2018.
arXiv:1803.02579. Extended in IEEE Transactions on Medical Imaging 2019.

For a feature map U = [u_1, ..., u_C] with u_c in R^{H x W}:

    cSE   z = global average pool of U,  z^ = W_1 delta(W_2 z),
          U^_cSE = [sigma(z^_1) u_1, ..., sigma(z^_C) u_C]
          with W_2 in R^{(C/2) x C}, W_1 in R^{C x (C/2)}: a reduction of 2.
    sSE   q = W_sq * U, a 1x1 convolution from C channels to one,
          U^_sSE = [sigma(q) u_1, ..., sigma(q) u_C]
    scSE  U^_scSE = U^_cSE + U^_sSE

cSE is SE (Hu et al. 2018) with reduction 2 instead of 16. The two sub-blocks
see the same input and run side by side ("concurrently").

Paper and official code: the MICCAI paper adds the two recalibrated maps;
the official code (ai-med/squeeze_and_excitation) takes their element-wise
maximum, one of the combinations the journal version (Roy, Navab, Wachinger,
IEEE Transactions on Medical Imaging 2019, arXiv:1808.08127) considers.
``aggregation="sum"`` (default) follows the MICCAI paper, ``"max"`` the code.
The official code has biases in the fully connected layers and the 1x1
convolution, and so does this module (the paper's equations write none).
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_choice, check_feature_map, hidden_units


class ChannelSE(nn.Module):
    """cSE: squeeze spatially, excite channel-wise (SE with reduction 2)."""

    def __init__(self, channels: int, reduction: int = 2):
        super().__init__()
        hidden = hidden_units(f"ChannelSE(channels={channels}, reduction={reduction})", channels, reduction)
        self.channels = channels
        self.reduction = reduction
        self.down = nn.Linear(channels, hidden)  # W_2 in the paper's notation
        self.up = nn.Linear(hidden, channels)  # W_1

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """sigma(z^): one weight per channel, (B, C, 1, 1)."""
        check_feature_map(f"ChannelSE(channels={self.channels})", self.channels, x)
        z = x.mean(dim=(2, 3))  # (B, C, H, W) -> (B, C)
        z_hat = self.up(torch.relu(self.down(z)))  # (B, C) -> (B, C/2) -> (B, C)
        return torch.sigmoid(z_hat)[:, :, None, None]  # -> (B, C, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)  # (B, C, H, W) * (B, C, 1, 1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}"


class SpatialSE(nn.Module):
    """sSE: squeeze channel-wise, excite spatially."""

    def __init__(self, channels: int):
        super().__init__()
        hidden_units(f"SpatialSE(channels={channels})", channels, 1)  # validates channels
        self.channels = channels
        self.squeeze = nn.Conv2d(channels, 1, kernel_size=1)  # W_sq

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """sigma(q): one weight per position, (B, 1, H, W)."""
        check_feature_map(f"SpatialSE(channels={self.channels})", self.channels, x)
        q = self.squeeze(x)  # (B, C, H, W) -> (B, 1, H, W)
        return torch.sigmoid(q)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)  # (B, C, H, W) * (B, 1, H, W)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class ConcurrentSE(nn.Module):
    """scSE: cSE and sSE side by side, combined by sum (paper) or max (official code)."""

    def __init__(self, channels: int, reduction: int = 2, aggregation: str = "sum"):
        super().__init__()
        check_choice(f"ConcurrentSE(channels={channels})", "aggregation", aggregation, ("sum", "max"))
        self.channels = channels
        self.aggregation = aggregation
        self.cse = ChannelSE(channels, reduction)
        self.sse = SpatialSE(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(f"ConcurrentSE(channels={self.channels})", self.channels, x)
        by_channel = self.cse(x)  # U^_cSE: (B, C, H, W)
        by_position = self.sse(x)  # U^_sSE: (B, C, H, W)
        if self.aggregation == "sum":
            return by_channel + by_position
        return torch.maximum(by_channel, by_position)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, aggregation={self.aggregation!r}"
