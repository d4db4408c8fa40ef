"""The ``matcomp`` command line: ``matcomp data``, ``train``, ``config`` (check a config) and ``clean --stale``.

Bad input (unknown optimizer or penalty, impossible n_obs or rank, negative λ, a missing data file) gives
one clear line on stderr and exit status 2 before any training starts.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from .data import Problem, ProblemError, load_problem, make_problem, validate_settings
from .store import paths, results
from .training.optimizers import OPTIMIZERS, UnknownOptimizerError
from .training.penalties import PENALTIES, UnknownPenaltyError, get_penalty
from .training.settings import FIELD_TYPES, TrainConfig
from .training.train import BatchResult, train_batch


def save_result(result: BatchResult, out: str | Path) -> None:
    """Write ``out`` (settings, runs, provenance) and its trajectory file (:mod:`matcomp.store.results`)."""
    arrays = {**asdict(result.trajectory), "seeds": np.array([r["seed"] for r in result.runs]),
              "lams": np.array([r["lam"] for r in result.runs])}  # fmt: skip
    results.write(
        out, {"settings": result.settings, "runs": result.runs, "provenance": result.provenance}, arrays
    )


def _train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a batch of cells (one per seed) and write run.json")
    _train_settings(p)
    p.add_argument("--lam", type=float, default=0.05, help="penalty weight λ >= 0")
    p.add_argument("--rank", type=int, default=5)
    p.add_argument("--n-obs", type=int, default=2000)
    p.add_argument("--m", type=int, default=100)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--no-normalize", action="store_true", help="keep W* = U Vᵀ unscaled")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument(
        "--data",
        nargs="+",
        help="problem .npz files (from `matcomp data`), one per cell, instead of generating",
    )
    p.add_argument("--out", required=True, help="result JSON; trajectories go beside it")
    p.add_argument(
        "--force", action="store_true", help="overwrite --out (and its trajectory) even if not a result"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _train_settings(p: argparse.ArgumentParser) -> None:
    """One option per training setting (:class:`~matcomp.training.settings.TrainConfig`'s fields and their help)."""
    names = {"optimizer": ", ".join(OPTIMIZERS), "penalty": ", ".join(PENALTIES)}
    for f in fields(TrainConfig):
        meta = f.metadata
        said = meta["help"] + (f"; one of: {names[f.name]}" if f.name in names else "")
        p.add_argument(
            meta["option"] or f"--{f.name.replace('_', '-')}", dest=f.name, type=FIELD_TYPES[str(f.type)][0],
            choices=meta["choices"], default=f.default, help=f"{said} (default %(default)s)",
        )  # fmt: skip


def _data_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="write one ground-truth problem (.npz)")
    for name, default in (("--m", 100), ("--n", 100), ("--rank", 5), ("--n-obs", 2000), ("--seed", 0)):
        p.add_argument(name, type=int, default=default)
    p.add_argument("--no-normalize", action="store_true")
    p.add_argument("--out", required=True)


def _config_options(p: argparse.ArgumentParser, scale_help: str) -> None:
    p.add_argument("--directory", default=".", help="the workflow's working directory (default: .)")
    p.add_argument(
        "--configfile",
        nargs="+",
        default=[],
        help="overlays merged over DIRECTORY/config.yaml, as for snakemake",
    )
    p.add_argument(
        "--config",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help=f"overrides as for snakemake --config; {scale_help}",
    )
    p.add_argument("--scale", action="append", default=[], help=scale_help)


def _config_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="check a config as the workflow does and print the effective one (errors name file, line, key)",
        description="Snakemake itself reads --configfile files and reports a YAML error without file or line; "
        "this command reads them the same way (DIRECTORY/config.yaml, each --configfile merged over it, then "
        "--config) and runs every check of the workflow.",
    )
    _config_options(p, "scale=NAME: the scale to check (default: the config's)")


def _clean_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "clean",
        help="list (or --delete) cached results that no job of the current config and code produces",
        description="Results of older code or settings stay on disk beside the new ones; this lists them. "
        "Kept: every cached file that some job of the config plans at any of its scales (or at the --scale "
        "named), with the current package source.",
    )
    p.add_argument("--stale", action="store_true", required=True, help="what to clean: stale results")
    p.add_argument("--delete", action="store_true", help="remove them (default: only list them)")
    _config_options(p, "scale=NAME (or --scale NAME, repeatable) keeps only that scale's results")


def _relabel_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "relabel",
        help="give cached ground truths and training results the names of today's code, where the code "
        "changed only in where its modules live (proved file by file first)",
        description="A result's name holds its code hash, which holds each file's path: a module moved into a "
        "package renames every result.  This checks that the data and training code of --from differs from "
        "today's only by moves, then writes each result made by it again under today's name (arrays "
        "unchanged, a 'relabelled' record added); the old files stay (`matcomp clean --stale` lists them).",
    )
    p.add_argument("--from", dest="rev", required=True, help="the git revision whose code made the results")
    p.add_argument(
        "--root", type=Path, default=Path("."), help=f"the folder holding {paths.RESULTS}/ (default: .)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matcomp", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    _data_parser(sub)
    _clean_parser(sub)
    _config_parser(sub)
    _relabel_parser(sub)
    return parser


def refuse_overwrite(out: str | Path, force: bool = False) -> None:
    """Refuse, before any work, to write ``out`` over a file that is not an earlier result of ``matcomp train``
    (a result JSON with its checked trajectory): ``notes.json``, or a ``notes.trajectory.npz`` beside a new
    name.  An earlier result of ours is replaced (a rerun); ``force`` replaces anything."""
    traj = results.trajectory_path(out)
    if force or not (Path(out).exists() or traj.exists()):
        return
    try:
        doc = results.check(out)
        if {"settings", "runs", "provenance"} <= set(doc) and traj.exists():
            return
        why = f"{out} is not a result of `matcomp train`"
    except results.ResultFileError as err:  # no advice to delete: the file may be the user's own
        why = f"{err.path} is not a result of `matcomp train` ({err.why})"
    raise ValueError(f"--out {out}: {why}; nothing was written. Choose another --out, or pass --force to "
                     f"overwrite {out} and {traj.name}")  # fmt: skip


PIPELINE_DATA = re.compile(
    "(^|/)"
    + paths.DATA_FILE.replace(".", r"\.").format(
        m=r"\d+", n=r"\d+", rank=r"\d+", n_obs=r"\d+", seed=r"\d+", norm="(_raw)?", code="[0-9a-f]{10}"
    )
    + "$"
)
"""A ground-truth file's name as the workflow makes it (:data:`matcomp.store.paths.DATA_FILE`, its fields as patterns)."""


def _load_data(path: str) -> Problem:
    """:func:`load_problem`, whose advice to remove a damaged file and rerun is kept only for a file named as
    the workflow names its ground truth: never ``rm /etc/passwd``."""
    try:
        return load_problem(path)
    except ProblemError as err:
        if PIPELINE_DATA.search(Path(path).as_posix()):
            raise
        said = str(err).split("; if the workflow made it")[0]
        raise ProblemError(
            f"{said}; --data takes the .npz files `matcomp data` or the workflow writes"
        ) from None


def _cmd_train(a: argparse.Namespace) -> None:
    log = a.log if not str(a.log).isdigit() else f"every:{a.log}"
    settings = {f.name: getattr(a, f.name) for f in fields(TrainConfig)}
    cfg = TrainConfig(**{**settings, "log": log})
    cfg.validate()
    results.check_result_name(a.out)
    refuse_overwrite(a.out, a.force)
    if any(s < 0 for s in a.seeds):
        raise ValueError(f"--seeds must be integers >= 0, got {a.seeds}")
    if len(set(a.seeds)) != len(a.seeds):
        raise ValueError(f"--seeds must be distinct, got {a.seeds} (a repeated seed is the same run twice)")
    get_penalty(a.penalty)
    if not a.lam >= 0 or a.lam == float("inf"):
        raise ValueError(f"--lam must be a finite number >= 0, got {a.lam}")
    if a.data:
        problems = [_load_data(f) for f in a.data]
    else:
        validate_settings(a.m, a.n, a.rank, a.n_obs)
        problems = [make_problem(a.m, a.n, a.rank, a.n_obs, s, not a.no_normalize) for s in a.seeds]
    result = train_batch(problems, [a.lam] * len(problems), cfg, progress=not a.quiet)
    save_result(result, a.out)
    for r in result.runs:
        print(
            f"seed {r['seed']}: test_error={r['test_error']:.3g} effective_rank={r['effective_rank']:.2f} "
            f"iterations={r['iterations']} ({r['stop_reason']})"
        )


def _load_config(a: argparse.Namespace) -> tuple[dict, list[str]]:
    """The raw config as Snakemake builds it (DIRECTORY/config.yaml, each ``--configfile`` merged over it,
    then ``--config`` overrides) and the scales asked for (what the user set wins over the scale: the
    workflow passes DIRECTORY/config.yaml as ``base`` to :func:`matcomp.plan.config.load`, as here)."""
    import yaml

    from .plan.config import read_config

    scales = list(a.scale)
    overrides = {}
    for item in a.config:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--config {item!r}: expected KEY=VALUE")
        if key == "scale":
            scales.append(value)
        else:
            overrides[key] = yaml.safe_load(value)
    return read_config(Path(a.directory) / "config.yaml", a.configfile, overrides), scales


def _in_checkout(a: argparse.Namespace) -> int | None:
    """Run ``matcomp clean`` with the package of the checkout in ``--directory`` when that is not the package
    imported here (another clone installed): the code hashes, hence what is stale, are that checkout's."""
    import os
    import subprocess

    from .store.checkout import runs_from

    src = (Path(a.directory) / "src").resolve()
    if not (src / "matcomp").is_dir() or runs_from(src):
        return None
    if os.environ.get("MATCOMP_CHECKOUT_RERUN"):
        raise RuntimeError(f"could not import matcomp from {src}")
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "MATCOMP_CHECKOUT_RERUN": "1"}  # fmt: skip
    return subprocess.call([sys.executable, "-m", "matcomp.cli", *sys.argv[1:]], env=env)


def _cmd_config(a: argparse.Namespace) -> None:
    import yaml

    from .plan.config import ConfigError, load, notes, read_yaml
    from .plan.jobs import packing

    try:
        config, scales = _load_config(a)
        base = read_yaml(Path(a.directory) / "config.yaml")
        eff = load({**config, "scale": scales[-1]} if scales else config, base)
        packing(eff)  # pack_training: true where no GPU is planned
    except ConfigError as err:
        raise ValueError(f"invalid config: {err}") from None
    for note in notes(eff):
        print(f"note: {note}", file=sys.stderr)
    print(yaml.safe_dump(eff, sort_keys=False), end="")


def _cmd_clean(a: argparse.Namespace) -> None:
    from .plan.config import ConfigError, read_yaml
    from .plan.stale import NOT_OURS, remove, running, stale_with_reasons

    try:
        config, scales = _load_config(a)
        root = Path(a.directory)
        found = stale_with_reasons(root, config, scales, read_yaml(root / "config.yaml"))
    except ConfigError as err:
        raise ValueError(f"invalid config: {err}") from None
    stale = [f for f, why in found if why != NOT_OURS]
    foreign = [f for f, why in found if why == NOT_OURS]
    for rel in stale:
        print(rel)
    for why in dict.fromkeys(w for _, w in found if w != NOT_OURS):
        print(f"{sum(w == why for _, w in found)} of them: {why}", file=sys.stderr)
    if foreign:
        print(f"{len(foreign)} file(s) {NOT_OURS}: {', '.join(foreign[:5])}{' …' if len(foreign) > 5 else ''}",
              file=sys.stderr)  # fmt: skip
    kept = ", ".join(scales) if scales else "every scale of the config"
    if not stale:
        print(f"no stale results ({kept})", file=sys.stderr)
    elif a.delete:
        locks = running(root)
        if locks:
            raise ValueError(f"a Snakemake run is going in {root} ({root}/.snakemake/locks: {', '.join(locks)}): "
                             "nothing was removed; rerun once it ends (if none runs, `snakemake --unlock` first)")  # fmt: skip
        freed = remove(root, stale)
        print(f"removed {len(stale)} stale files ({freed / 1e6:.1f} MB; kept: {kept})", file=sys.stderr)
    else:
        size = sum((root / rel).stat().st_size for rel in stale) / 1e6
        print(
            f"{len(stale)} stale files ({size:.1f} MB; kept: {kept}); --delete removes them", file=sys.stderr
        )


def _cmd_relabel(args: argparse.Namespace) -> None:
    from .store.relabel import relabel

    done, skipped = relabel(args.root, args.rev, Path(__file__).resolve().parents[2])
    for old, new in done:
        print(f"{old} -> {new}")
    for why in skipped:
        print(f"left alone: {why}", file=sys.stderr)
    print(f"{len(done)} file(s) relabelled under {args.root / paths.RESULTS}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            _cmd_train(args)
        elif args.command == "clean":
            rerun = _in_checkout(args)
            if rerun is not None:
                return rerun
            _cmd_clean(args)
        elif args.command == "config":
            _cmd_config(args)
        elif args.command == "relabel":
            _cmd_relabel(args)
        else:
            validate_settings(args.m, args.n, args.rank, args.n_obs)
            make_problem(args.m, args.n, args.rank, args.n_obs, args.seed, not args.no_normalize).save(
                args.out
            )
    except (
        UnknownOptimizerError,
        UnknownPenaltyError,
        ProblemError,
        ValueError,
        RuntimeError,
        OSError,
    ) as err:
        print(f"matcomp: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
