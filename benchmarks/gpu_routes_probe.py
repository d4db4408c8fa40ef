"""Two GPU building blocks of issue 10, measured on a CUDA machine (accuracy tables and timings).

1. The ``gesvda`` route for the Schatten penalties, which need singular values every step: cuSOLVER's
   batched *approximate* SVD (``torch.linalg.svd(..., driver="gesvda")``, Gram-based) in float64, of W
   itself and of the shifted ``[W; δI]`` (:func:`matcomp.spectral.shifted_svd`, what the route runs): the
   error of the Schatten (and ratio) gradients and of σ against a float64 SVD of the same float32 W,
   beside the float32 SVD's own error (the CPU route), on the training-like spectra of
   ``polar_accuracy.py``; and the time per batch.
2. Launch overhead: one polar factor of a batch, eager against replayed as a CUDA graph, and one depth-1
   Adam step, eager against a CUDA graph.

    PYTHONPATH=src python3 benchmarks/gpu_routes_probe.py [--out FILE.md]
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import torch
from polar_accuracy import matrices, spectrum  # noqa: E402  (benchmarks/ is the script's folder)

from matcomp.penalties import get_penalty, spectral_grad
from matcomp.spectral import polar_parts, shifted_svd

PENALTIES = [get_penalty(s) for s in ("schatten:1/2", "schatten:1/3", "schatten_ratio:1/2:2/3", "ratio")]


def _routes(w32: torch.Tensor, dev: torch.device) -> dict:
    """Each route's (U, σ, Vᵀ) of w32, on the host; a route that refuses the batch maps to its error."""
    calls = {
        "svd32-cpu": lambda: torch.linalg.svd(w32, full_matrices=False),
        "gesvda64": lambda: torch.linalg.svd(w32.to(dev).double(), full_matrices=False, driver="gesvda"),
        "shifted-gesvda64": lambda: shifted_svd(w32.to(dev)),
    }
    out = {}
    for name, call in calls.items():
        try:
            out[name] = [x.cpu() for x in call()]
        except RuntimeError as exc:  # cuSOLVER's convergence check
            out[name] = str(exc).split("(")[0].strip() + " refused"
    return out


def grad_errors(w32: torch.Tensor, dev: torch.device) -> dict[str, str]:
    """Worst relative gradient error of each route against float64 (CPU LAPACK) on the same float32 W."""
    ref = torch.linalg.svd(w32.double(), full_matrices=False)
    routes = _routes(w32, dev)
    out: dict[str, str] = {}
    for pen in PENALTIES:
        _, g_ref = spectral_grad(pen, *ref)
        norm = torch.linalg.matrix_norm(g_ref)
        for name, usv in routes.items():
            if isinstance(usv, str):
                out[f"{pen.spec} {name}"] = usv
                continue
            _, g = spectral_grad(pen, *(x.double() for x in usv))
            out[f"{pen.spec} {name}"] = f"{float((torch.linalg.matrix_norm(g - g_ref) / norm).max()):.1e}"
    for name, usv in routes.items():
        if isinstance(usv, str):
            out[f"sigma {name}"] = usv
            continue
        s = usv[1].double().sort(-1, descending=True).values
        out[f"sigma {name}"] = f"{float(((s - ref[1]).abs() / ref[1][:, :1]).max()):.1e}"
    return out


def timed(fn, repeats: int = 5) -> float:
    fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def step_graph_probe(b: int, penalised: bool, dev: torch.device) -> tuple[float, float]:
    """ms per depth-1 Adam step (data term, ratio gradient by polar, fused Adam): eager, and as a CUDA graph."""
    from matcomp.data import make_problem
    from matcomp.penalties import PENALTIES

    probs = [make_problem(100, 100, 5, 2000, s, True) for s in range(b)]
    w_star = torch.stack([torch.as_tensor(p.w_star, dtype=torch.float32) for p in probs]).to(dev)
    mask = torch.stack([torch.as_tensor(p.mask, dtype=torch.float32) for p in probs]).to(dev)
    neg = -(w_star * mask)
    w = (torch.randn(b, 100, 100, device=dev) * 1e-3).requires_grad_(True)
    w.grad = torch.zeros_like(w)
    opt = torch.optim.Adam([w], lr=1e-3, fused=True, capturable=True)

    def step() -> None:
        wd = w.detach()
        resid = torch.addcmul(neg, wd, mask)
        grad = 2 * resid
        if penalised:
            q, nuc, fro = polar_parts(wd)
            grad = grad + 0.1 * PENALTIES["ratio"].polar(q, wd, nuc, fro)[1]
        w.grad.copy_(grad)
        opt.step()

    eager = timed(step, repeats=3)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return eager, timed(graph.replay, repeats=3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    dev = torch.device("cuda")
    lines = [f"# GPU route probe on {torch.cuda.get_device_name()} (torch {torch.__version__})", ""]
    lines += ["## Schatten gradients: worst relative error against a float64 SVD (8 matrices per row)", ""]
    names = ("svd32-cpu", "gesvda64", "shifted-gesvda64")
    lines += [
        "| spectrum | tail / σ₁ | quantity | " + " | ".join(names) + " |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for rank in (5, 10):
        for tail in (1e-2, 1e-4, 1e-6, 1e-8):
            for clustered in (False, True):
                w32 = matrices(spectrum(rank, tail, False, clustered), 8, seed=rank).float()
                err = grad_errors(w32, dev)
                for q in [p.spec for p in PENALTIES] + ["sigma"]:
                    label = f"rank {rank}{' clustered' if clustered else ''} | {tail:g} | {q}"
                    lines.append(f"| {label} | " + " | ".join(err[f"{q} {r}"] for r in names) + " |")
    lines += ["", "## Time per batched call (ms, best of 5)", "", "| what | B | ms |", "|---|---:|---:|"]
    for b in (64, 330, 1024):
        w = torch.randn(b, 100, 100, device=dev) * 1e-3
        w64 = w.double()
        lines.append(
            f"| gesvda float64 | {b} | {1e3 * timed(partial(torch.linalg.svd, w64, full_matrices=False, driver='gesvda')):.2f} |"
        )
        lines.append(
            f"| shifted_svd (the gesvda route), float32 W | {b} | {1e3 * timed(partial(shifted_svd, w)):.2f} |"
        )
        lines.append(f"| polar_parts float32, eager | {b} | {1e3 * timed(partial(polar_parts, w)):.2f} |")
        static = w.clone()
        graph = torch.cuda.CUDAGraph()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                polar_parts(static)
        torch.cuda.current_stream().wait_stream(stream)
        with torch.cuda.graph(graph):
            outs = polar_parts(static)
        graph.replay()
        torch.cuda.synchronize()
        eager = polar_parts(static)
        same = all(torch.equal(x, y) for x, y in zip(outs, eager))
        lines.append(
            f"| polar_parts float32, CUDA graph replay (bit-equal to eager: {same}) | {b} | {1e3 * timed(graph.replay):.2f} |"
        )
        del graph
    lines += [
        "",
        "## One depth-1 Adam step (ms): eager against CUDA graph",
        "",
        "| penalty | B | eager | graph |",
        "|---|---:|---:|---:|",
    ]
    for penalised in (False, True):
        for b in (32, 256, 1024):
            try:
                e, g = step_graph_probe(b, penalised, dev)
                lines.append(f"| {'ratio' if penalised else 'none'} | {b} | {1e3 * e:.3f} | {1e3 * g:.3f} |")
            except Exception as exc:  # noqa: BLE001 - a probe reports what failed
                lines.append(f"| {'ratio' if penalised else 'none'} | {b} | failed: {exc!r} | |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
