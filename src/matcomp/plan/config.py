"""The config, in one place: read it, apply the named scale, and check every key and value before any work.

:func:`load` is what the workflow (``workflow/rules/common.smk``) and ``matcomp clean`` call.  It takes
the config as Snakemake builds it (``config.yaml``, then each ``--configfile`` deep-merged over it, then
``--config`` overrides; :func:`read_config` does the same outside Snakemake) and returns the effective
config of the chosen scale, or raises :class:`ConfigError` with one message that names the key, what is
wrong and, for an unknown key, the nearest valid one:

1. every mapping is closed: an unknown key anywhere (a typo such as ``scal=smoke``) is an error, for the
   config and for every overlay under ``scales:`` (:func:`unknown_keys`);
2. ``--config`` gives strings: ``movielens_verify=false`` and ``=False`` both mean the boolean, and
   ``lr: 1e-3`` (text to YAML 1.1) the number (:func:`coerce_booleans`);
3. every value has its type and range (the JSON schema ``config.schema.yaml`` beside this module) and every
   number is finite (``lr: .nan`` is refused);
4. what a schema cannot say: each experiment has the keys its kind needs, optimizers and penalties exist,
   the spectral route fits the penalties, rank and n_obs fit the matrix, the OptSpace implementation and the
   MovieLens checkpoint and sweep grid are valid (:func:`check_semantics`).
"""

from __future__ import annotations

import copy
import difflib
import importlib
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..labels import OPTIMIZER_LABELS, PENALTY_LABELS, READING_SEP
from ..store.paths import FIGURE

SCHEMA = Path(__file__).with_name("config.schema.yaml")
SYNTHETIC_KINDS = ("table", "dynamics", "baselines")
"""The kinds on the synthetic data (ground truth, masks): the ones a reading can rerun, each with its products
(:data:`matcomp.plan.products.PRODUCTS`)."""
KINDS = (*SYNTHETIC_KINDS, "movielens")
TRAINING_NEEDS = (
    ("optimizers",),
    ("depths",),
    ("penalties",),
    ("rank",),
    ("n_obs", "n_obs_grid"),
    ("lam", "lams"),
)
NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "table": TRAINING_NEEDS,
    "dynamics": TRAINING_NEEDS,
    "baselines": (("rank",), ("n_obs_grid",), ("networks", "methods")),
    "movielens": (("models",), ("rows",), ("splits",)),
}
"""The keys each kind of experiment needs (a tuple: any one of them)."""


class ConfigError(ValueError):
    """A malformed config; the message names the offending key and the fix."""


# ---------------------------------------------------------------- reading and merging


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated recursively by ``over`` (lists and scalars replace), as Snakemake merges configs."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = (
            deep_merge(out[k], v)
            if isinstance(v, dict) and isinstance(out.get(k), dict)
            else copy.deepcopy(v)
        )
    return out


class _UniqueKeys(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last one silently:
    a second ``fig8:`` line in a scale's overlay dropped the first one's settings)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML config file as a dict; an error names the file, and the line and column of a syntax error or
    of a key given twice."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"config file {path}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start}); "
            "a config is a YAML file of keys and values"
        ) from None
    if not text.strip() or all(line.lstrip().startswith("#") for line in text.splitlines() if line.strip()):
        raise ConfigError(
            f"config file {path} is empty (or only comments): give it at least one key, or leave it out"
        )
    try:
        data = yaml.load(text, Loader=_UniqueKeys)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"config file {path}{where}: not valid YAML ({what})") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path}: expected a mapping of keys to values, got {type(data).__name__}"
        )
    return data


def read_config(
    configfile: str | Path, overlays: Sequence[str | Path] = (), overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The raw config as Snakemake builds it: ``configfile``, each of ``overlays`` (``--configfile``)
    deep-merged over it, then ``overrides`` (``--config KEY=VALUE``, top-level keys)."""
    config = read_yaml(configfile)
    for overlay in overlays:
        config = deep_merge(config, read_yaml(overlay))
    return {**config, **(overrides or {})}


_MISSING = object()


def changed_from(config: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """What ``config`` sets differently from ``base`` (nested; ``scale`` and ``scales`` aside): the values a
    user typed (``--config``) or overlaid (``--configfile``) over the workflow's ``config.yaml``."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in ("scale", "scales"):
            continue
        was = base.get(key, _MISSING)
        if isinstance(value, dict) and isinstance(was, dict):
            sub = changed_from(value, was)
            if sub:
                out[key] = sub
        elif was is _MISSING or value != was:
            out[key] = copy.deepcopy(value)
    return out


def effective_config(config: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply the named ``scale`` (``paper`` is the config as written) and drop the ``scales`` table.  With
    ``base`` (the workflow's own ``config.yaml``), what the user set over it (:func:`changed_from`: an
    overlay, a ``--config`` value) wins over the scale's overlay: config.yaml < scale < the user's."""
    scale = config.get("scale", "paper")
    scales = config.get("scales") or {}
    if scale != "paper" and scale not in scales:
        raise ConfigError(
            f"config key 'scale': unknown scale {scale!r}{_nearest(str(scale), ['paper', *scales])}; "
            f"valid: paper, {', '.join(scales)}"
        )
    eff = deep_merge(config, scales.get(scale, {})) if scale != "paper" else copy.deepcopy(config)
    if base is not None:
        eff = deep_merge(eff, changed_from(config, base))
    eff.pop("scales", None)
    eff["scale"] = scale
    return with_readings(eff)


# ---------------------------------------------------------------- readings: planned experiment families

READING_KINDS = SYNTHETIC_KINDS


def with_readings(eff: dict[str, Any]) -> dict[str, Any]:
    """``eff`` with one experiment ``X@R`` for each experiment X a reading R lists (``readings:``): X with
    R's ``train`` settings deep-merged over its own.  A cell whose settings agree with the defaults' is
    the same cell (same result file, trained once: :func:`matcomp.plan.jobs.experiment_cells`)."""
    experiments = eff.get("experiments")
    if not isinstance(experiments, dict):
        return eff
    for name in experiments:
        if READING_SEP in str(name):
            raise ConfigError(
                f"config key 'experiments.{name}': '{READING_SEP}' is reserved for the experiments a reading "
                "plans (readings: in config.yaml); rename it"
            )
        _check_name("experiments", name)
    for reading in eff.get("readings") or {}:
        _check_name("readings", reading)
    for reading, spec in (eff.get("readings") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("experiments", []), list):
            continue  # the schema check names it
        for name in spec.get("experiments", []):
            where = f"config key 'readings.{reading}.experiments'"
            if name not in experiments:
                raise ConfigError(f"{where}: unknown experiment {name!r}{_nearest(str(name), experiments)}")
            if experiments[name].get("kind") not in READING_KINDS:
                raise ConfigError(f"{where}: {name} is a {experiments[name].get('kind')} experiment; a "
                                  f"reading reruns {', '.join(READING_KINDS)} experiments")  # fmt: skip
            exp = deep_merge(experiments[name], {"train": spec.get("train") or {}})
            caption = exp.get("caption", name)
            experiments[f"{name}{READING_SEP}{reading}"] = {**exp, "caption": f"{caption}, reading {reading}"}
    return eff


NAME = re.compile(r"[A-Za-z0-9_]+")
"""An experiment's or reading's name: it becomes part of file names (``figures/{name}.pdf``,
``results/tables/{name}.csv``), so a plain identifier: letters, digits and underscores."""


def _check_name(kind: str, name: Any) -> None:
    if not NAME.fullmatch(str(name)):
        raise ConfigError(f"config key '{kind}.{name}': a name becomes part of file names ({FIGURE.format(name='<name>', ext='pdf')}), "
                          "so it may hold only letters, digits and underscores (no '/', '..', spaces); rename it")  # fmt: skip


TYPO = 0.85
"""Two names this alike (difflib's ratio: one letter added, dropped or changed in a short name) are a typo
of one another, not two things (:func:`_check_near_names`)."""


def _check_near_names(config: dict[str, Any]) -> None:
    """An overlay's misspelt scale (``scales: {smok: …}``) is a new scale that nothing selects, so its
    settings never apply; a misspelt experiment (``fig33: {lam: …}``) is a new experiment without a
    ``kind``.  Both are refused with the name they resemble."""
    scales, selected = config.get("scales") or {}, config.get("scale", "paper")
    for name in scales:
        others = [s for s in ["paper", *scales] if s != name]
        close = difflib.get_close_matches(str(name), others, n=1, cutoff=TYPO)
        if name != selected and close:
            raise ConfigError(
                f"config key 'scales.{name}': a scale nothing selects (scale: {selected}) named like "
                f"{close[0]!r}; did you mean scales.{close[0]}? (a scale of its own needs a distinct name)"
            )
    experiments = config.get("experiments") or {}
    known = [e for e, exp in experiments.items() if isinstance(exp, dict) and "kind" in exp]
    overlays = [("experiments", experiments)] + [
        (f"scales.{s}.experiments", v.get("experiments") or {})
        for s, v in scales.items()
        if isinstance(v, dict)
    ]
    for where, table in overlays:
        for name, exp in table.items():
            if name not in known and isinstance(exp, dict) and "kind" not in exp:
                raise ConfigError(
                    f"config key '{where}.{name}': not an experiment of this config (it has no 'kind')"
                    f"{_nearest(str(name), known) or '.'} A new experiment needs kind and its settings "
                    "(see config.yaml)"
                )


def load(config: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The effective, fully checked config of the chosen scale (module docstring); every scale of the
    ``scales`` table is checked too, so a typo in one that is not run now is still found.  ``base``: the
    workflow's ``config.yaml``, so that what the user set over it wins over the scale (:func:`effective_config`)."""
    config = coerce_booleans(copy.deepcopy(config), schema())
    base = coerce_booleans(copy.deepcopy(base), schema()) if base is not None else None
    _check_near_names(config)
    eff = effective_config(config, base)
    check(eff)
    for scale in ["paper", *(config.get("scales") or {})]:
        if scale != eff["scale"]:
            check(effective_config({**config, "scale": scale}, base), f" (in scale {scale!r})")
    return eff


def check(eff: dict[str, Any], where: str = "") -> None:
    """Every check of the module docstring on an effective config; :class:`ConfigError` names the key."""
    try:
        problems = list(unknown_keys(eff, schema()))
        if problems:
            raise ConfigError(problems[0])
        _check_per_optimizer(eff)
        _check_schema(eff)
        _check_finite(eff)
        check_semantics(eff)
    except ConfigError as err:
        raise ConfigError(f"{err}{where}") from None


def enabled_experiments(config: dict[str, Any], kinds: Iterable[str]) -> list[str]:
    """Names of the enabled experiments of the given kinds, in config order."""
    kinds = tuple(kinds)
    return [
        name
        for name, exp in config["experiments"].items()
        if exp.get("kind") in kinds and exp.get("enabled", True)
    ]


DEEP = 10
"""Depths beyond this (the paper's are 1-5) get a note on their cost."""


def notes(config: dict[str, Any]) -> list[str]:
    """One line for each setting that runs but costs or means more than it seems: a depth far beyond the
    paper's (a step costs about depth/5 times a depth-5 step: depth 1000 ran at ≈ 1.6 s per iteration on a
    2-core CPU) and a hidden width below the rank (such a network has rank at most its width: it can never
    recover W*)."""
    from ..training.settings import effective_train

    out = []
    m, n = config["data"]["m"], config["data"]["n"]
    for name, exp in config["experiments"].items():
        if exp.get("kind") not in SYNTHETIC_KINDS or not exp.get("enabled", True):
            continue
        depths = [d for d in exp.get("depths", []) if isinstance(d, int)]
        depths += [net.get("depth") for net in exp.get("networks", []) if isinstance(net.get("depth"), int)]
        train = effective_train(config, exp)
        width, rank = train["width"] or max(m, n), exp.get("rank", 1)
        if depths and max(depths) > DEEP:
            out.append(f"experiments.{name}: depth {max(depths)} is far beyond the paper's 1-5; a step costs about "
                       f"{max(depths) / 5:.0f}x a depth-5 step ({train.get('max_iters')} iterations per network)")  # fmt: skip
        if depths and max(depths) > 1 and width < rank:
            out.append(f"experiments.{name}: width {width} is below the rank {rank}: a network of that width has "
                       f"rank at most {width} and can never recover W* (rank {rank})")  # fmt: skip
    return out


def not_planned(config: dict[str, Any]) -> dict[str, str]:
    """Experiments the config names but does not run at this scale, by name, each with how to run it: the
    disabled ones (``enabled: false``) and each synthetic experiment under each reading that does not list it."""
    out = {
        name: f"experiment {name} is disabled (enabled: false in config.yaml); run it with an overlay that sets "
        f"experiments: {{{name}: {{enabled: true}}}} (snakemake --configfile that.yaml ...)"
        for name, exp in config["experiments"].items()
        if not exp.get("enabled", True)
    }
    scale = config.get("scale", "paper")
    for reading in config.get("readings") or {}:
        for name, exp in config["experiments"].items():
            planned = f"{name}{READING_SEP}{reading}"
            if (
                READING_SEP not in name
                and exp.get("kind") in READING_KINDS
                and planned not in config["experiments"]
            ):
                out[planned] = (f"reading {reading} does not rerun {name} at scale {scale}: add {name} to "
                                f"readings.{reading}.experiments (at this scale: scales.{scale}.readings)")  # fmt: skip
    return out


# ---------------------------------------------------------------- keys, types, ranges (the schema)


@cache
def schema() -> dict[str, Any]:
    """``config.schema.yaml`` with the names it shares with the package filled in from their owners: the
    ``train`` block from the training settings' fields, the experiment kinds (:data:`KINDS`), Table 2's
    models, rows and checkpoints, and the MovieLens LNN's init, reduction and spectral route."""
    from ..movielens.terms import CHECKPOINTS, MODELS, ROWS
    from ..training.settings import INITS, REDUCTIONS, ROUTES, train_schema

    out = yaml.safe_load(SCHEMA.read_text())
    out["$defs"]["train"] = train_schema()
    for key in PER_OPTIMIZER:  # a number, or one per optimizer with a default
        props = out["$defs"]["train"]["properties"]
        props[key] = per_optimizer_node(props[key])
    experiment = out["$defs"]["experiment"]["properties"]
    experiment["kind"]["enum"] = list(KINDS)
    experiment["models"]["items"]["enum"] = list(MODELS)
    experiment["rows"]["items"]["enum"] = list(ROWS)
    experiment["checkpoint"]["enum"] = list(CHECKPOINTS)
    lnn = experiment["lnn"]["properties"]
    for key, names in (("init", INITS), ("reduction", REDUCTIONS), ("spectral", ROUTES)):
        lnn[key]["enum"] = list(names)
    return out


PER_OPTIMIZER = ("lr", "init_std")
"""Training settings that may be given per optimizer, ``lr: {gd: 1.0e-2, default: 1.0e-3}`` (issue 36: [7]'s
code runs GD at 1e-2, the paper states 1e-3 for all): the planner gives each cell its optimizer's value
(:func:`matcomp.plan.jobs.for_optimizer`), so a job records a number as before."""
DEFAULT_KEY = "default"


def per_optimizer_node(node: dict[str, Any]) -> dict[str, Any]:
    """The schema of a :data:`PER_OPTIMIZER` setting: its own node, or a mapping of optimizers (and
    ``default``, required) to it."""
    from ..training.optimizers import OPTIMIZERS

    each = {"type": "object", "properties": {**dict.fromkeys(OPTIMIZERS, node), DEFAULT_KEY: node},
            "required": [DEFAULT_KEY], "additionalProperties": False}  # fmt: skip
    return {"anyOf": [node, each], "description": node.get("description", "")}


def _check_per_optimizer(eff: dict[str, Any]) -> None:
    """Each per-optimizer setting names known optimizers and a default (before the schema check, whose
    message for an ``anyOf`` would not say which key is wrong)."""
    from ..training.optimizers import OPTIMIZERS

    trains = [("train", eff.get("train"))]
    trains += [(f"experiments.{n}.train", e.get("train")) for n, e in (eff.get("experiments") or {}).items()
               if isinstance(e, dict)]  # fmt: skip
    trains += [(f"readings.{n}.train", r.get("train")) for n, r in (eff.get("readings") or {}).items()
               if isinstance(r, dict)]  # fmt: skip
    for where, train in trains:
        for key in PER_OPTIMIZER:
            if not isinstance(train, dict) or key not in train:
                continue
            value = train[key]
            numbers = list(value.items()) if isinstance(value, dict) else [(None, value)]
            for name, v in numbers:
                if isinstance(v, bool) or not isinstance(v, int | float):
                    at = f"{where}.{key}" + (f".{name}" if name is not None else "")
                    raise ConfigError(f"config key '{at}': {v!r} is not of type 'number' (give a number, or one "
                                      f"per optimizer with a default: {{gd: 1.0e-2, {DEFAULT_KEY}: 1.0e-3}})")  # fmt: skip
            if not isinstance(value, dict):
                continue
            valid = [*OPTIMIZERS, DEFAULT_KEY]
            for name in value:
                if name not in valid:
                    raise ConfigError(f"config key '{where}.{key}.{name}': not an optimizer{_nearest(str(name), valid)}"
                                      f" (valid: {', '.join(valid)})")  # fmt: skip
            if DEFAULT_KEY not in value:
                raise ConfigError(f"config key '{where}.{key}': a value per optimizer needs '{DEFAULT_KEY}' "
                                  "(the value of every optimizer not named)")  # fmt: skip


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _nearest(key: str, valid: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _key(path: tuple[str, ...]) -> str:
    return ".".join(path)


def unknown_keys(
    value: Any, node: dict[str, Any], path: tuple[str, ...] = (), root: dict | None = None
) -> Iterator[str]:
    """A message for every key of ``value`` that its (closed) schema ``node`` does not know."""
    root = root or node
    node = _resolve(node, root)
    if not isinstance(value, dict):
        if isinstance(value, list) and isinstance(node.get("items"), dict):
            for i, item in enumerate(value):
                yield from unknown_keys(
                    item, node["items"], (*path[:-1], f"{path[-1]}[{i}]") if path else (), root
                )
        return
    props = node.get("properties", {})
    extra = node.get("additionalProperties", True)
    for k, v in value.items():
        if k in props:
            yield from unknown_keys(v, props[k], (*path, str(k)), root)
        elif isinstance(extra, dict):
            yield from unknown_keys(v, extra, (*path, str(k)), root)
        elif extra is False:
            where = f" of '{_key(path)}'" if path else ""
            yield (
                f"config key '{_key((*path, str(k)))}' is not a setting{where}{_nearest(str(k), props)} "
                f"(valid: {', '.join(props)})"
            )


def _as_number(value: str, kind: str) -> Any:
    """``"1e-3"`` as the number it spells (PyYAML reads an exponent without a decimal point, and
    ``--config lr=1e-3``, as text); anything else unchanged (the schema check then names it)."""
    try:
        number = int(value) if kind == "integer" else float(value)
    except ValueError:
        return value
    return number if kind == "integer" or math.isfinite(number) else value


def coerce_booleans(value: Any, node: dict[str, Any], root: dict | None = None) -> Any:
    """``--config`` values "true"/"false" (any case) become booleans wherever the schema wants a boolean,
    and numbers written as text (``1e-3``: YAML 1.1 reads it as a string) numbers where it wants one."""
    root = root or node
    node = _resolve(node, root)
    if "anyOf" in node:  # a per-optimizer setting: the mapping's node for a mapping, else the value's
        alts = [_resolve(a, root) for a in node["anyOf"]]
        alt = next((a for a in alts if (a.get("type") == "object") == isinstance(value, dict)), None)
        return coerce_booleans(value, alt, root) if alt is not None else value
    wants_bool = node.get("type") == "boolean" or any(isinstance(e, bool) for e in node.get("enum", []))
    if wants_bool and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if node.get("type") in ("number", "integer") and isinstance(value, str):
        return _as_number(value.strip(), node["type"])
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [coerce_booleans(v, node["items"], root) for v in value]
    if isinstance(value, dict):
        props, extra = node.get("properties", {}), node.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k, extra if isinstance(extra, dict) else None)
            if sub is not None:
                value[k] = coerce_booleans(v, sub, root)
    return value


def _check_schema(eff: dict[str, Any]) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(eff), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        err = errors[0]
        path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err.absolute_path).replace(
            ".[", "["
        )
        hint = err.schema.get("description") if err.validator == "pattern" else None  # say what fits
        message = f"{err.instance!r} is not {hint}" if hint else err.message
        raise ConfigError(f"config key '{path or '(top level)'}': {message}")


def _check_finite(value: Any, path: tuple[str, ...] = ()) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key '{_key(path)}': must be a finite number, got {value}")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        _check_finite(v, (*path, str(k)))


# ---------------------------------------------------------------- what the schema cannot say


def _needs(name: str, exp: dict[str, Any]) -> None:
    kind = exp["kind"]
    for options in NEEDS[kind]:
        if not any(k in exp for k in options):
            wanted = ", ".join(" or ".join(o) for o in NEEDS[kind])
            raise ConfigError(
                f"config key 'experiments.{name}.{options[0]}' is missing: a {kind} experiment needs {wanted}"
            )


def _named(where: str, check_fn, values: Iterable[Any]) -> None:
    for i, v in enumerate(values):
        try:
            check_fn(v)
        except ValueError as err:
            raise ConfigError(f"config key '{where}[{i}]': {err}") from None


def _check_spectral(config: dict[str, Any], exp: dict[str, Any], where: str) -> None:
    """``spectral: polar`` only with penalties that have a polar form (ratio, nuclear, none)."""
    from ..training.penalties import get_penalty
    from ..training.placement import resolve_route
    from ..training.settings import effective_train

    route = effective_train(config, exp)["spectral"]
    pens = [*exp.get("penalties", []), *(net.get("penalty", "none") for net in exp.get("networks", []))]
    for pen in pens:
        try:
            resolve_route(route, get_penalty(pen), "cpu")
        except ValueError as err:
            key = f"{where}.train.spectral" if "spectral" in exp.get("train", {}) else "train.spectral"
            raise ConfigError(f"config key '{key}' (with {where}): {err}") from None


def _check_implementation(key: str, method: str, implementation: Any) -> None:
    """An ``implementation`` valid for baseline ``method`` (the registry's: its validator, its fixed one)."""
    from ..baselines import BASELINES

    spec = BASELINES[method]
    if not spec.takes_implementation:
        raise ConfigError(f"config key '{key}': {method} takes no implementation option")
    try:
        importlib.import_module(f"matcomp.baselines.{spec.solver}").check_implementation(implementation)
    except ValueError as err:
        raise ConfigError(f"config key '{key}': {err}") from None
    if spec.implementation is not None and implementation != spec.implementation:
        raise ConfigError(f"config key '{key}': {method} runs {spec.implementation!r} only")


def _check_training(config: dict[str, Any], name: str, exp: dict[str, Any]) -> None:
    from ..training.optimizers import check_optimizer
    from ..training.penalties import get_penalty

    where = f"experiments.{name}"
    _named(f"{where}.optimizers", check_optimizer, exp.get("optimizers", []))
    _named(f"{where}.penalties", get_penalty, exp.get("penalties", []))
    _check_labels(where, exp)
    _named(
        f"{where}.networks",
        lambda net: (check_optimizer(net["optimizer"]), get_penalty(net.get("penalty", "none"))),
        exp.get("networks", []),
    )
    _check_spectral(config, exp, where)
    for one, many in (("lam", "lams"), ("n_obs", "n_obs_grid")):
        if one in exp and many in exp:
            raise ConfigError(
                f"config key '{where}': both {one} ({exp[one]}) and {many} ({exp[many]}) are set, so one would be "
                f"ignored (an overlay's {one} does not replace the base's {many}); keep one, e.g. {many}: [{exp[one]}]"
            )
    m, n = config["data"]["m"], config["data"]["n"]
    rank = exp.get("rank", 1)
    if rank > min(m, n):
        raise ConfigError(f"config key '{where}.rank': rank {rank} impossible for a {m}x{n} matrix")
    for n_obs in [exp["n_obs"]] if "n_obs" in exp else exp.get("n_obs_grid", []):
        if n_obs > m * n:
            raise ConfigError(f"config key '{where}': n_obs {n_obs} impossible for a {m}x{n} matrix")


def _check_labels(where: str, exp: dict[str, Any]) -> None:
    """Every optimizer and penalty an experiment runs has its printed label (a new registry entry without one
    is named here, not drawn with a made-up label in the tables and figures)."""
    from ..training.penalties import get_penalty

    nets = exp.get("networks", [])
    for table, names in ((OPTIMIZER_LABELS, [*exp.get("optimizers", []), *(n["optimizer"] for n in nets)]),
                         (PENALTY_LABELS, [get_penalty(p).name for p in [*exp.get("penalties", []),
                                                                         *(n.get("penalty", "none") for n in nets)]])):  # fmt: skip
        for name in names:
            if name not in table:
                kind = "optimizer" if table is OPTIMIZER_LABELS else "penalty"
                raise ConfigError(f"config key '{where}': {kind} {name!r} has no printed label; add it to "
                                  f"matcomp.labels.{kind.upper()}_LABELS")  # fmt: skip


def _check_methods(name: str, exp: dict[str, Any]) -> None:
    where = f"experiments.{name}.methods"
    for method, opts in (exp.get("methods") or {}).items():
        if "implementation" in (opts or {}):
            _check_implementation(f"{where}.{method}.implementation", method, opts["implementation"])
    valid = [*(net["label"] for net in exp.get("networks", [])), *(exp.get("methods") or {})]
    for i, label in enumerate(exp.get("plot", [])):
        if label not in valid:
            raise ConfigError(
                f"config key 'experiments.{name}.plot[{i}]': {label!r} is neither a network label nor a method "
                f"of this experiment{_nearest(label, valid)} (valid: {', '.join(valid)})"
            )


def check_semantics(config: dict[str, Any]) -> None:
    """The checks the JSON schema cannot express (module docstring, item 4); each error names its key."""
    from ..baselines import BASELINES

    for method, spec in BASELINES.items():
        if spec.implementation_key and spec.implementation_key in config:
            _check_implementation(spec.implementation_key, method, config[spec.implementation_key])
    for name, exp in config["experiments"].items():
        _needs(name, exp)
        if exp["kind"] in SYNTHETIC_KINDS:
            _check_training(config, name, exp)
        if exp["kind"] == "baselines":
            _check_methods(name, exp)
        if exp["kind"] == "movielens":
            _check_movielens(name, exp)


def _check_movielens(name: str, exp: dict[str, Any]) -> None:
    """The checkpoint, the validation part it needs, and every sweep grid."""
    where = f"experiments.{name}"
    sweep = exp.get("sweep") or {}
    sweeping = bool(sweep.get("enabled", False))
    val_frac = float(sweep.get("val_frac", 0.0) if sweeping else exp.get("val_frac", 0.0))
    if sweeping and not 0.0 < val_frac < 1.0:
        raise ConfigError(
            f"config key '{where}.sweep.val_frac': a sweep selects on a validation part of the training split: "
            f"set it in (0, 1), got {val_frac}"
        )
    if exp.get("checkpoint", "last") == "validation" and val_frac <= 0.0:
        raise ConfigError(
            f"config key '{where}.checkpoint': 'validation' needs a validation part of the training split: set "
            f"{where}.val_frac in (0, 1)"
        )
    if sweeping:
        for model in exp["models"]:
            check_sweep_grid(model, sweep.get(model) or {}, f"{where}.sweep.{model}")


PENALIZE: dict[str, tuple[float, float]] = {"user": (1.0, 0.0), "item": (0.0, 1.0), "both": (1.0, 1.0)}
"""A sweep grid's ``penalize`` values for the embedding model: which embedding matrix a value of ``lam``
penalises, as (factor on ``lam_user``, factor on ``lam_item``) (:func:`matcomp.plan.movielens.sweep_points`)."""


def check_sweep_grid(model: str, grid: dict[str, Any], where: str) -> None:
    """A sweep grid maps a model's hyper-parameters (plus ``lam``, and ``penalize`` for the embedding) to
    non-empty lists; λ values are numbers >= 0."""
    from ..movielens.settings import PAPER_BEST

    valid = set(PAPER_BEST[model]) | {"lam"} | ({"penalize"} if model == "embedding" else set())
    for key, values in grid.items():
        if key not in valid:
            raise ConfigError(
                f"config key '{where}.{key}': not a {model} hyper-parameter{_nearest(key, valid)}; valid: "
                f"{', '.join(sorted(valid))}"
            )
        if not isinstance(values, list) or not values:
            raise ConfigError(f"config key '{where}.{key}': must be a non-empty list, got {values!r}")
    for v in grid.get("lam", []) + grid.get("lam_user", []) + grid.get("lam_item", []):
        if not isinstance(v, int | float) or v < 0 or not math.isfinite(v):
            raise ConfigError(f"config key '{where}': λ must be a number >= 0, got {v!r}")
    if model == "embedding" and "lam" in grid and {"lam_user", "lam_item"} & set(grid):
        raise ConfigError(
            f"config key '{where}': give either lam (with penalize) or lam_user / lam_item, not both"
        )
    if "penalize" in grid and "lam" not in grid:
        raise ConfigError(f"config key '{where}.penalize': needs a 'lam' list to apply")
    for target in grid.get("penalize", []):
        if target not in PENALIZE:
            raise ConfigError(
                f"config key '{where}.penalize': {target!r} is not one of {', '.join(PENALIZE)}"
            )
