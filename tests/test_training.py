"""attn_edu.training: the seeded loop behind every experiment."""

import matplotlib

matplotlib.use("Agg")

import torch
from torch import nn

from attn_edu.training import History, accuracy, fit, plot_learning_curves


class TinySet:
    """Two linearly separable classes, with the loader interface of attn_edu.data."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.arange(n) % 2
        self.x = torch.randn(n, 4, generator=g) + 2.0 * self.y[:, None]

    def __len__(self):
        return len(self.y)

    def loader(self, batch_size, shuffle, seed):
        data = torch.utils.data.TensorDataset(self.x, self.y)
        return torch.utils.data.DataLoader(data, batch_size, shuffle, generator=torch.Generator().manual_seed(seed))


def run(seed=0):
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    return fit(model, TinySet(256, 0), TinySet(128, 1), epochs=4, lr=0.05, seed=seed, progress=False)


def test_fit_learns_and_records_one_value_per_epoch():
    history = run()
    assert len(history.train_loss) == len(history.test_accuracy) == 4
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.final_accuracy > 0.85


def test_fit_is_reproducible():
    assert run().train_loss == run().train_loss


def test_accuracy_counts_correct_predictions():
    data = TinySet(10, 0)
    always_one = nn.Linear(4, 2)
    nn.init.zeros_(always_one.weight)
    always_one.bias.data = torch.tensor([0.0, 1.0])
    assert accuracy(always_one, data) == 0.5


def test_learning_curve_plot_has_labelled_axes_and_a_line_per_run():
    fig = plot_learning_curves([History("a", [1.0, 0.5], [0.5, 0.9]), History("b", [1.0, 0.7], [0.4, 0.6])], "t")
    left, right = fig.axes
    assert len(right.get_lines()) == 2
    assert "accuracy" in right.get_ylabel() and left.get_xlabel() == "epoch"


def test_recalibrate_batchnorm_is_also_found_in_training():
    from attn_edu import evaluation, training

    assert training.recalibrate_batchnorm is evaluation.recalibrate_batchnorm
