"""A small, seeded training loop for the book's experiments.

Every chapter's experiment trains a small network with and without its
mechanism and compares the learning curves. The loop is the same each time,
so it lives here: seeded, with a progress bar, and returning the history a
plot needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from .evaluation import recalibrate_batchnorm  # noqa: F401  (after training, before comparing models)


@dataclass
class History:
    """Per-epoch training loss and test accuracy of one run."""

    label: str
    train_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

    @property
    def final_accuracy(self) -> float:
        return self.test_accuracy[-1]

    @property
    def best_accuracy(self) -> float:
        return max(self.test_accuracy)


def accuracy(model: nn.Module, dataset, batch_size: int = 256) -> float:
    """Fraction of correct predictions; for segmentation, of correct pixels."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            x, y = dataset.x[start : start + batch_size], dataset.y[start : start + batch_size]
            predicted = model(x).argmax(dim=1)
            correct += (predicted == y).sum().item()
            total += y.numel()
    return correct / total


def fit(
    model: nn.Module,
    train_set,
    test_set,
    epochs: int = 5,
    lr: float = 3e-3,
    batch_size: int = 64,
    seed: int = 0,
    label: str = "",
    progress: bool = True,
) -> History:
    """Train ``model`` with Adam and cross-entropy; evaluate after every epoch.

    ``train_set`` and ``test_set`` are ``attn_edu.data`` data sets (they have
    ``x``, ``y`` and ``loader``). The shuffling order is seeded by ``seed``;
    seed the model's initial weights yourself (``torch.manual_seed``) before
    building it.
    """
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = History(label or type(model).__name__)
    loader = train_set.loader(batch_size=batch_size, shuffle=True, seed=seed)
    bar = tqdm(range(epochs), desc=history.label, disable=not progress, leave=False)
    for _ in bar:
        model.train()
        total, count = 0.0, 0
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total, count = total + loss.item() * len(x), count + len(x)
        history.train_loss.append(total / count)
        history.test_accuracy.append(accuracy(model, test_set))
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", test_acc=f"{history.test_accuracy[-1]:.3f}")
    return history


def plot_learning_curves(histories: list[History], title: str):
    """Training loss and test accuracy per epoch, one line per run. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    for history in histories:
        epochs = range(1, len(history.train_loss) + 1)
        left.plot(epochs, history.train_loss, marker="o", label=history.label)
        right.plot(epochs, history.test_accuracy, marker="o", label=history.label)
    left.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="Training loss")
    right.set(xlabel="epoch", ylabel="test accuracy (fraction correct)", title="Test accuracy", ylim=(0, 1.02))
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig
