"""Every command README.md shows runs as written, in a cheap form.

Commands come from README's fenced ``bash`` blocks (comments dropped, ``\\`` continuations joined) and from
its inline code spans that start with a command word (``snakemake …``, ``matcomp …``, ``python -m pytest …``,
``bash …``, ``pip …``, ``apt-get …``). Each kind has one cheap check:

- ``snakemake …``: a dry run (``-n``) of exactly those words, in one scratch copy of the checkout. Without a
  ``conda`` on PATH, ``--use-conda`` is dropped for the dry run (Snakemake would stop at ``conda info``).
  ``--report`` cannot be dry-run: in the fresh copy it must get as far as the missing outputs.
  README placeholders (``/path/to/ml-100k``) are replaced by a stand-in made in the scratch copy.
- ``matcomp …``: the exact words through the CLI's own parser; ``train`` and ``data`` then really run
  (``--max-iters`` cut to a few steps, ``--out`` into a scratch folder); other subcommands run ``--help``.
- ``python -m pytest …``: collected (``--collect-only``), not run: this is the suite itself.
- ``bash script``: the script exists and ``bash -n`` parses it.
- ``python -m venv …``: the optional virtual environment, run as written in a scratch folder.
- ``python benchmarks/….py SUB …``: the script exists; ``status`` runs as written, another subcommand shows
  its help, which must name every option used.
- ``apt-get``/``pip``: the set-up commands, not run; they must be exactly the two README promises.

A command of any other kind fails the test: whoever adds one to README decides here how it is checked.
"""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SETUP = (
    ("apt-get", "install", "-y", "--no-install-recommends", "r-base-core"),
    ("pip", "install", "-e", ".[all]"),
)
COMMAND_WORDS = ("snakemake", "matcomp", "python", "bash", "pip", "apt-get", "sudo")
FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```", flags=re.S | re.M)
SHELL_LANGS = ("bash", "sh", "shell", "console")
COPY_IGNORE = shutil.ignore_patterns(
    ".git", "results", "figures", "logs", ".snakemake", "__pycache__", "*.egg-info", ".pytest_cache",
    ".ruff_cache", ".venv", "build", "dist", "report.html",
)  # fmt: skip
TIMEOUT = 300
pytestmark = pytest.mark.workflow


# ---------------------------------------------------------------- extraction


def fenced_commands(text: str) -> list[str]:
    """Commands of the fenced shell blocks: continuations joined, comment lines and trailing comments dropped."""
    out = []
    for lang, body in FENCE.findall(text):
        if lang not in SHELL_LANGS:
            continue
        for line in re.sub(r"\\\n", " ", body).splitlines():
            words = shlex.split(line, comments=True)
            if words:
                out.append(shlex.join(words))
    return out


def inline_commands(text: str) -> list[str]:
    """Inline code spans (possibly wrapped over lines) of at least two words that start with a command word."""
    prose = FENCE.sub("", text)
    out = []
    for span in re.findall(r"`([^`]+)`", prose):
        words = span.split()
        if len(words) >= 2 and words[0] in COMMAND_WORDS:
            out.append(" ".join(words))
    return out


def readme_commands() -> list[str]:
    text = README.read_text()
    return list(dict.fromkeys(fenced_commands(text) + inline_commands(text)))


def test_extraction() -> None:
    text = (
        "```bash\n# a comment\nsnakemake --cores 2 \\\n    --config scale=quick   # trailing\n```\n"
        "```\nnot a shell block\n```\n"
        "Prose with `snakemake figures/fig3.pdf --config\nscale=quick` and `matcomp.training.penalties`, `snakemake`.\n"
    )
    assert fenced_commands(text) == ["snakemake --cores 2 --config scale=quick"]
    assert inline_commands(text) == ["snakemake figures/fig3.pdf --config scale=quick"]


def test_readme_has_commands_and_exactly_the_promised_set_up() -> None:
    cmds = [shlex.split(c) for c in readme_commands()]
    assert sum(w[0] == "snakemake" for w in cmds) >= 3 and any(w[0] == "matcomp" for w in cmds)
    setup = {tuple(w) for w in cmds if w[0] in ("apt-get", "pip", "sudo")}
    assert setup == set(SETUP), "README's set-up commands changed: update SETUP (and .ci/run) together"
    assert "two commands" in README.read_text()


# ---------------------------------------------------------------- static check over every file that shows commands


def config_swallows_a_target(words: list[str]) -> bool:
    """Snakemake 9's ``--config`` takes every following word: a target after it does not parse."""
    if "--config" not in words:
        return False
    rest = words[words.index("--config") + 1 :]
    for w in rest:
        if w.startswith("-"):
            return config_swallows_a_target(rest[rest.index(w) :])
        if "=" not in w:
            return True
    return False


def _shown_snakemake_commands(path: Path) -> list[str]:
    text = path.read_text(errors="replace")
    found = re.findall(r"snakemake((?: [^\s`'\"#)]+)+)", text)  # words one space apart: prose after two stops
    return [f"snakemake{f}" for f in found]


SHOWN_IN = ["README.md", "benchmarks/README.md", "config.yaml", "Snakefile", "profiles", "workflow", "src"]


def test_no_shown_snakemake_command_puts_a_target_after_config() -> None:
    files = []
    for name in SHOWN_IN:
        p = ROOT / name
        files += (
            [p]
            if p.is_file()
            else [
                f
                for f in p.rglob("*")
                if f.is_file() and "egg-info" not in str(f) and "__pycache__" not in f.parts
            ]
        )
    bad = [
        f"{f.relative_to(ROOT)}: {c}"
        for f in files
        for c in _shown_snakemake_commands(f)
        if config_swallows_a_target(c.split())
    ]
    assert not bad, "targets must come before --config:\n" + "\n".join(bad)


def test_the_static_check_catches_the_old_readme_command() -> None:
    assert config_swallows_a_target("snakemake --cores 2 --config scale=quick figures/fig3.pdf".split())
    assert not config_swallows_a_target("snakemake --cores 2 figures/fig3.pdf --config scale=quick".split())
    assert not config_swallows_a_target("snakemake --config scale=quick --report report.html".split())


# ---------------------------------------------------------------- running each command cheaply


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scratch copy of the working tree (no results), shared by every dry run."""
    work = tmp_path_factory.mktemp("readme") / "checkout"
    shutil.copytree(ROOT, work, ignore=COPY_IGNORE)
    return work


def _fake_movielens(work: Path) -> str:
    folder = work / "ml-100k-standin"
    folder.mkdir(exist_ok=True)
    (folder / "u.data").write_text("1\t1\t5\t881250949\n")
    return str(folder)


PLACEHOLDERS: dict[str, Callable[[Path], str]] = {"/path/to/ml-100k": _fake_movielens}


def _fill_placeholders(words: list[str], work: Path) -> list[str]:
    out = []
    for w in words:
        for ph, make in PLACEHOLDERS.items():
            if ph in w:
                w = w.replace(ph, make(work))
        assert "/path/to/" not in w and "<" not in w, f"placeholder {w!r}: add a stand-in to PLACEHOLDERS"
        out.append(w)
    return out


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)


def _fail(cmd: str, proc: subprocess.CompletedProcess) -> str:
    return f"`{cmd}` failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"


def check_snakemake(cmd: str, words: list[str], work: Path) -> None:
    args = _fill_placeholders(words[1:], work)
    if shutil.which("conda") is None:
        args = [a for a in args if a != "--use-conda"]
    proc = _run([sys.executable, "-m", "snakemake", "-n", *args], work)
    if "--report" in args and proc.returncode != 0:
        # nothing is built in the scratch copy: the command parsed and the report step was reached
        assert "marked for report but does not exist" in proc.stderr + proc.stdout, _fail(cmd, proc)
        return
    assert proc.returncode == 0, _fail(cmd, proc)


def _matcomp() -> list[str]:
    exe = shutil.which("matcomp")
    return (
        [exe] if exe else [sys.executable, "-c", "import sys; from matcomp.cli import main; sys.exit(main())"]
    )


def _cheap_train(args: list[str], scratch: Path) -> list[str]:
    out = list(args)
    for opt, value in (("--max-iters", "20"), ("--out", str(scratch / "run.json"))):
        if opt in out:
            out[out.index(opt) + 1] = value
        else:
            out += [opt, value]
    return [*out, "--quiet", "--device", "cpu"]


def _cheap_data(args: list[str], scratch: Path) -> list[str]:
    out = list(args)
    out[out.index("--out") + 1] = str(scratch / "problem.npz")
    return out


CHEAP_MATCOMP: dict[str, Callable[[list[str], Path], list[str]]] = {
    "train": _cheap_train,
    "data": _cheap_data,
}


def check_matcomp(cmd: str, words: list[str], scratch: Path) -> None:
    from matcomp.cli import build_parser

    try:
        parsed = build_parser().parse_args(words[1:])
    except SystemExit:
        pytest.fail(f"`{cmd}`: matcomp's parser rejects it")
    cheap = CHEAP_MATCOMP.get(parsed.command)
    args = cheap(words[1:], scratch) if cheap else [words[1], "--help"]
    proc = _run([*_matcomp(), *args], scratch)
    assert proc.returncode == 0, _fail(shlex.join(["matcomp", *args]), proc)


def check_pytest(cmd: str, words: list[str]) -> None:
    for w in words[3:]:
        if w.endswith(".py") or "/" in w:
            assert (ROOT / w.split("::")[0]).exists(), f"`{cmd}`: {w} does not exist"
    proc = _run([sys.executable, *words[1:], "--collect-only", "-q", "-p", "no:cacheprovider"], ROOT)
    assert proc.returncode == 0, _fail(cmd, proc)


def check_bash(cmd: str, words: list[str]) -> None:
    script = ROOT / words[1]
    assert script.is_file(), f"`{cmd}`: {words[1]} does not exist"
    proc = _run(["bash", "-n", str(script)], ROOT)
    assert proc.returncode == 0, _fail(cmd, proc)


def check_benchmark_script(cmd: str, words: list[str]) -> None:
    """``python benchmarks/X.py SUB …``: the script exists; a read-only ``status`` runs as written, any other
    subcommand shows its help, which must name every option the command uses."""
    script = ROOT / words[1]
    assert script.is_file(), f"`{cmd}`: {words[1]} does not exist"
    sub = [w for w in words[2:] if not w.startswith("-")][:1]
    argv = [sys.executable, *words[1:]] if sub == ["status"] else [sys.executable, words[1], *sub, "--help"]
    proc = _run(argv, ROOT)
    assert proc.returncode == 0, _fail(cmd, proc)
    for opt in (w for w in words[2:] if w.startswith("--")):
        assert sub == ["status"] or opt in proc.stdout, f"`{cmd}`: {opt} is not an option of {words[1]} {sub}"


def check_venv(cmd: str, tmp_path: Path) -> None:
    """The optional virtual environment: run as written in a scratch folder; it must leave a Python there."""
    proc = _run(["bash", "-c", cmd], tmp_path)
    assert proc.returncode == 0 and (tmp_path / ".venv/bin/python").exists(), _fail(cmd, proc)


COMMANDS = readme_commands()


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c[:70] for c in COMMANDS])
def test_readme_command_runs(cmd: str, checkout: Path, tmp_path: Path) -> None:
    words = shlex.split(cmd)
    if words[0] == "snakemake":
        check_snakemake(cmd, words, checkout)
    elif words[0] == "matcomp":
        check_matcomp(cmd, words, tmp_path)
    elif words[:3] == ["python", "-m", "pytest"]:
        check_pytest(cmd, words)
    elif words[0] == "bash":
        check_bash(cmd, words)
    elif words[:3] == ["python", "-m", "venv"]:
        check_venv(cmd, tmp_path)
    elif words[0] == "python" and words[1].startswith("benchmarks/"):
        check_benchmark_script(cmd, words)
    elif words[0] in ("apt-get", "pip", "sudo"):
        assert tuple(words) in SETUP, f"`{cmd}`: a set-up command README does not promise"
    else:
        pytest.fail(f"`{cmd}`: no check for this kind of command; add one to tests/test_readme_commands.py")


def test_command_line_options_named_in_readme_exist() -> None:
    """The options README lists for ``matcomp train`` (prose, not commands) are the parser's."""
    from matcomp.cli import build_parser
    from matcomp.training.penalties import get_penalty

    text = README.read_text()
    assert "### The command line" in text
    section = text.split("### The command line", 1)[1].split("\n## ", 1)[0]
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    train = sub.choices["train"]
    known = set(train._option_string_actions)
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", FENCE.sub("", section)))
    assert named and named <= known, f"README names options matcomp train lacks: {sorted(named - known)}"
    for spec in re.findall(r"--penalty ([\w:/]+)", section):
        get_penalty(spec)
