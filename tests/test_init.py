"""The two readings of A.1's initial scale (``init``: end_to_end as [7]'s code, layer as the words), and the
defaults that follow the paper's words, then [7]'s code (``tol_on: loss``, ``init: end_to_end``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from matcomp.cli import main
from matcomp.data import make_problem
from matcomp.training.models import INITS, end_product, init_layers, init_seed, layer_shapes, layer_stds
from matcomp.training.train import TrainConfig, train_batch

S = 1e-3


def _w0(depth: int, init: str, seeds=(0, 1, 2, 3, 4), m: int = 100, n: int = 100, width=None) -> np.ndarray:
    layers = init_layers(list(seeds), m, n, depth, S, width, torch.float64, "cpu", init)
    return end_product(layers).numpy()


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_end_to_end_product_norm_is_init_std_root_n(depth: int) -> None:
    """[7]'s check: 0.8 ≤ ‖W₀‖_F / (s·√n) ≤ 1.2, for every seed and depth."""
    ratio = np.linalg.norm(_w0(depth, "end_to_end"), axis=(-2, -1)) / (S * np.sqrt(100))
    assert ((ratio >= 0.8) & (ratio <= 1.2)).all(), ratio


@pytest.mark.parametrize("depth", [1, 3, 5])
def test_layer_reading_gives_every_layer_the_std(depth: int) -> None:
    layers = init_layers([0, 1], 100, 100, depth, S, None, torch.float64, "cpu", "layer")
    for layer in layers:
        assert layer.std().item() == pytest.approx(S, rel=0.02)
    # and its product is far from [7]'s scale beyond depth 2: s^N·n^((N+1)/2)
    norm = np.linalg.norm(end_product(layers).numpy(), axis=(-2, -1))
    expected = S**depth * 100 ** ((depth + 1) / 2)
    assert ((norm / expected > 0.8) & (norm / expected < 1.2)).all(), norm / expected


def test_layer_reading_is_the_earlier_arithmetic_bit_for_bit() -> None:
    """``init: layer`` draws exactly what the trainer drew before the readings existed: N(0,1)·s per layer."""
    shapes = layer_shapes(100, 100, 3)
    g = torch.Generator().manual_seed(init_seed(4))
    before = [torch.randn(s, generator=g, dtype=torch.float64) * S for s in shapes]
    now = init_layers([4], 100, 100, 3, S, None, torch.float32, "cpu", "layer")
    for a, b in zip(before, now):
        assert torch.equal(a.to(torch.float32), b[0])


def test_readings_share_their_draws_and_differ_by_the_scale_only() -> None:
    a = init_layers([7], 100, 100, 3, S, None, torch.float64, "cpu", "layer")
    b = init_layers([7], 100, 100, 3, S, None, torch.float64, "cpu", "end_to_end")
    for la, lb, std in zip(a, b, layer_stds(layer_shapes(100, 100, 3), S, "end_to_end")):
        np.testing.assert_allclose(lb.numpy(), la.numpy() / S * std, rtol=1e-15)


def test_non_square_layers_keep_the_end_to_end_target() -> None:
    """m ≠ n ≠ width: each layer's std is s^(1/N)/√(its output dimension), so E‖W₀‖²_F = s²·n."""
    shapes = layer_shapes(30, 40, 3, width=50)
    assert layer_stds(shapes, S, "end_to_end") == pytest.approx(
        [S ** (1 / 3) / np.sqrt(d) for d, _ in shapes]
    )
    w0 = _w0(3, "end_to_end", seeds=range(40), m=30, n=40, width=50)
    mean_sq = np.mean(np.linalg.norm(w0, axis=(-2, -1)) ** 2) / (S**2 * 40)
    assert 0.8 < mean_sq < 1.2, mean_sq


def test_unknown_init_is_refused_before_any_work() -> None:
    assert INITS == ("end_to_end", "layer")
    with pytest.raises(ValueError, match="init must be one of end_to_end, layer"):
        TrainConfig(init="Layer").validate()
    with pytest.raises(ValueError, match="init must be one of"):
        layer_stds(layer_shapes(4, 4, 2), S, "per_layer")


def test_defaults_are_the_papers_words_then_its_cited_code() -> None:
    cfg = TrainConfig()
    assert (cfg.init, cfg.tol_on) == ("end_to_end", "loss")


def test_gd_depth5_recovers_under_end_to_end_and_never_moves_under_layer() -> None:
    """The reading decides Figure 1's picture: under [7]'s init GD at depth 5 recovers W* within 3 000 steps;
    under the literal one its end product starts at ~1e-9 and stays there (Err ≈ 1)."""
    p = make_problem(100, 100, 5, 2000, seed=0)
    runs = {}
    for init in INITS:
        cfg = TrainConfig(optimizer="gd", penalty="none", depth=5, max_iters=3000, log="every:1000",
                          device="cpu", init=init)  # fmt: skip
        runs[init] = train_batch([p], [0.0], cfg).runs[0]
    assert runs["end_to_end"]["test_error"] < 1e-3 and runs["end_to_end"]["effective_rank"] < 5.5
    assert runs["layer"]["test_error"] > 0.99


def test_cli_takes_init_and_records_both_readings(tmp_path, capsys) -> None:
    out = tmp_path / "run.json"
    args = ["train", "--optimizer", "gd", "--penalty", "none", "--depth", "2", "--m", "12", "--n", "10",
            "--rank", "2", "--n-obs", "60", "--max-iters", "5", "--device", "cpu", "--out", str(out), "--quiet"]  # fmt: skip
    assert main([*args, "--init", "layer"]) == 0
    settings = json.loads(out.read_text())["settings"]
    assert (settings["init"], settings["tol_on"]) == ("layer", "loss")
    with pytest.raises(SystemExit):
        main([*args, "--init", "literal"])
    assert "invalid choice: 'literal'" in capsys.readouterr().err
