"""MovieLens100K: download and verification, the ``u.data`` loader, seeded splits, a synthetic stand-in.

The data are the official GroupLens ``ml-100k.zip``.  :func:`download_ml100k` fetches it into a temporary
file beside the destination, checks the zip's md5, extracts it into a temporary folder, checks the sha256
of ``u.data`` and only then renames the folder into place (one ``os.replace``), so an interrupted or failed
download leaves nothing behind.  Every failure raises :class:`MovieLensDataError` with one line that names
the config key ``movielens_dir``: pointing it at an existing ``ml-100k/`` folder (the one holding
``u.data``) skips the download altogether.

``u.data`` holds tab-separated ``user item rating timestamp`` lines with 1-based ids; the interaction
matrix therefore has shape ``(max_user + 1, max_item + 1)`` = 944 × 1683 for the real data (row 0 and
column 0 are never observed), as in the paper and in Spotlight.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
ML100K_MD5 = "0e33842e24a9c977be4e0107933c0723"
UDATA_SHA256 = "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"
N_RATINGS, N_USERS, N_ITEMS = 100_000, 943, 1682
CONFIG_KEY = "movielens_dir"

HINT = (
    f"set the config key `{CONFIG_KEY}` to an existing ml-100k folder (the one holding u.data) "
    "to use a local copy instead of downloading"
)


class MovieLensDataError(RuntimeError):
    """The MovieLens data could not be obtained or verified (the message is one line)."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _fail(what: str) -> MovieLensDataError:
    return MovieLensDataError(f"{_one_line(what)}; {HINT}")


def file_digest(path: str | os.PathLike[str], algorithm: str) -> str:
    """Hex digest (``md5``, ``sha256``, …) of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_ml100k(
    directory: str | os.PathLike[str], check_sha: bool = True, sha256: str | None = UDATA_SHA256
) -> Path:
    """Check that ``directory`` holds ``u.data`` (the official one if ``check_sha``); return its path."""
    udata = Path(directory) / "u.data"
    if not udata.is_file():
        raise _fail(f"no u.data in {directory}")
    if check_sha and sha256 is not None:
        got = file_digest(udata, "sha256")
        if got != sha256:
            raise MovieLensDataError(
                f"u.data in {directory} has sha256 {got}, expected {sha256}: not the official ml-100k. Point "
                f"`{CONFIG_KEY}` at the official ml-100k folder (or unset it to download the official zip); "
                "only for test data that is not the official file set `movielens_verify: false`"
            )
    return udata


def download_ml100k(
    dest_dir: str | os.PathLike[str],
    url: str = ML100K_URL,
    md5: str | None = ML100K_MD5,
    sha256: str | None = UDATA_SHA256,
    timeout: float = 60.0,
) -> Path:
    """Download ``ml-100k.zip`` from ``url`` and install its ``ml-100k/`` folder as ``dest_dir``; return it.

    ``dest_dir`` is the final folder (it will hold ``u.data``; this is what ``movielens_dir`` points at).
    An existing, verified ``dest_dir`` is returned as is.  ``md5`` (of the zip) and ``sha256`` (of
    ``u.data``) default to the official checksums; ``None`` skips a check.  On any failure (offline,
    HTTP error, bad zip, checksum mismatch) :class:`MovieLensDataError` is raised and everything this call
    created is removed.
    """
    dest = Path(dest_dir)
    if (dest / "u.data").is_file():
        verify_ml100k(dest, check_sha=sha256 is not None, sha256=sha256)
        return dest
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise _fail(f"{dest} exists but holds no u.data (remove it to download again)")

    # Create missing parents, remembering them so that a failure can remove them again.
    created: list[Path] = []
    for parent in reversed([dest.parent, *dest.parent.parents]):
        if not parent.exists():
            created.append(parent)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        zip_path = tmp / "ml-100k.zip"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(zip_path, "wb") as fh:
                shutil.copyfileobj(resp, fh)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            raise _fail(f"could not download MovieLens100K from {url} ({reason})") from None
        if md5 is not None:
            got = file_digest(zip_path, "md5")
            if got != md5:
                raise _fail(f"checksum mismatch for {url}: md5 {got}, expected {md5}")
        extracted = tmp / "extracted"
        try:
            with zipfile.ZipFile(zip_path) as zf:
                zf.extractall(extracted)  # ZipFile.extract drops absolute paths and '..' components
        except (zipfile.BadZipFile, OSError) as err:
            raise _fail(f"{url} is not a readable zip ({err})") from None
        found = sorted(extracted.rglob("u.data"))
        if len(found) != 1:
            raise _fail(f"{url} holds {len(found)} u.data files, expected 1")
        src = found[0].parent
        if sha256 is not None:
            got = file_digest(found[0], "sha256")
            if got != sha256:
                raise _fail(f"checksum mismatch for u.data from {url}: sha256 {got}, expected {sha256}")
        if dest.exists():
            dest.rmdir()  # an empty placeholder folder
        os.replace(src, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    return dest


def load_ratings(directory: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``directory/u.data`` into int64 arrays ``(users, items, ratings)`` (1-based ids, as stored)."""
    udata = Path(directory) / "u.data"
    if not udata.is_file():
        raise _fail(f"no u.data in {directory}")
    try:
        table = np.loadtxt(udata, dtype=np.int64, delimiter="\t", usecols=(0, 1, 2), ndmin=2)
    except ValueError as err:
        raise MovieLensDataError(
            f"cannot parse {udata} as 'user<TAB>item<TAB>rating<TAB>time': {_one_line(err)}"
        ) from None
    if table.shape[0] == 0:
        raise MovieLensDataError(f"{udata} holds no ratings")
    users, items, ratings = (np.ascontiguousarray(table[:, k]) for k in range(3))
    if users.min() < 1 or items.min() < 1:
        raise MovieLensDataError(f"{udata}: user and item ids must be 1-based")
    bad = np.flatnonzero((ratings < 1) | (ratings > 5))
    if bad.size:
        raise MovieLensDataError(
            f"{udata} line {bad[0] + 1}: rating {ratings[bad[0]]} outside MovieLens' 1..5 ({bad.size} such lines); "
            "this is not MovieLens rating data"
        )
    _check_ids(udata, users, items)
    return users, items, ratings


def _stated_size(udata: Path) -> dict[str, int]:
    """``u.info``'s counts beside ``u.data`` (``943 users``, ``1682 items``), where it is there."""
    info = udata.with_name("u.info")
    out: dict[str, int] = {}
    if info.is_file():
        for line in info.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():
                out[parts[1]] = int(parts[0])
    return out


def _check_ids(udata: Path, users: np.ndarray, items: np.ndarray) -> None:
    """Each (user, item) rated once, and ids within the data's size: ``u.info``'s counts where it states
    them, else at most the number of ratings (a larger id only makes an emptier, larger dense matrix:
    50 000 000 asks for ~32 GB)."""
    stated = _stated_size(udata)
    for name, ids in (("users", users), ("items", items)):
        limit = stated.get(name, len(ids))
        if int(ids.max()) > limit:
            line = int(np.argmax(ids > limit)) + 1
            where = f"u.info's {limit} {name}" if name in stated else f"the {limit} ratings"
            raise MovieLensDataError(
                f"{udata} line {line}: {name[:-1]} id {int(ids.max())} exceeds {where}; ids are 1-based and "
                "dense in MovieLens data"
            )
    pairs = users * (int(items.max()) + 1) + items
    order = np.argsort(pairs, kind="stable")
    repeats = order[1:][pairs[order[1:]] == pairs[order[:-1]]]  # every occurrence after a pair's first
    if repeats.size:
        i = int(repeats.min())
        raise MovieLensDataError(
            f"{udata}: {repeats.size} repeated (user, item) pairs (first at line {i + 1}: user {users[i]}, item "
            f"{items[i]}); MovieLens rates each pair once"
        )


def interaction_shape(users: np.ndarray, items: np.ndarray) -> tuple[int, int]:
    """Shape of the interaction matrix for 1-based ids: ``(max_user + 1, max_item + 1)``."""
    return int(np.max(users)) + 1, int(np.max(items)) + 1


def ratings_matrix(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, shape: tuple[int, int] | None = None
) -> np.ndarray:
    """The dense interaction matrix (0 where unobserved), float64."""
    m = np.zeros(shape or interaction_shape(users, items))
    m[users, items] = ratings
    return m


def split_ratings(
    n: int, train_frac: float, seed: int, val_frac: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random ``(train, val, test)`` index arrays over ``n`` ratings (sorted, disjoint, covering ``0..n-1``).

    ``round(train_frac * n)`` ratings form the training split and the rest the test split; ``val_frac`` is
    the fraction *of the training split* held out for validation, so the test set for a seed does not depend
    on ``val_frac`` and validation never touches it.  A function of ``(n, train_frac, seed, val_frac)`` only
    (``numpy.random.default_rng(seed)``).
    """
    if not 0.0 < train_frac <= 1.0:
        raise ValueError(f"train_frac must be in (0, 1], got {train_frac}")
    if not 0.0 <= val_frac < 1.0:
        raise ValueError(f"val_frac must be in [0, 1), got {val_frac}")
    perm = np.random.default_rng(seed).permutation(n)
    n_train_split = int(round(train_frac * n))
    train_split, test = perm[:n_train_split], perm[n_train_split:]
    n_val = int(round(val_frac * n_train_split))
    val, train = train_split[:n_val], train_split[n_val:]
    return np.sort(train), np.sort(val), np.sort(test)


def make_synthetic_ml100k(
    directory: str | os.PathLike[str],
    n_users: int = 60,
    n_items: int = 90,
    n_ratings: int | None = None,
    seed: int = 0,
    rank: int = 3,
    noise: float = 0.3,
) -> Path:
    """Write a small ``u.data`` in the ml-100k format into ``directory``; return the folder.

    Ratings are ``round(3.5 + b_u + b_i + (U Vᵀ)_ui + ε)`` clipped to 1…5 with a rank-``rank`` signal of
    entry standard deviation ≈ 0.9, user/item biases of sd 0.4 and 0.3, and noise ε ~ N(0, noise²).
    ``n_ratings`` (default: half of the ``n_users × n_items`` cells) distinct cells are observed, every user
    and every item at least once, so the interaction matrix is ``(n_users + 1) × (n_items + 1)``.
    """
    n_cells = n_users * n_items
    n_ratings = n_cells // 2 if n_ratings is None else n_ratings
    if not max(n_users, n_items) <= n_ratings <= n_cells:
        raise ValueError(f"n_ratings must be in {max(n_users, n_items)}..{n_cells}, got {n_ratings}")
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n_users, rank))
    v = rng.standard_normal((n_items, rank))
    signal = u @ v.T
    signal *= 0.9 / signal.std()
    full = 3.5 + rng.normal(0, 0.4, (n_users, 1)) + rng.normal(0, 0.3, (1, n_items)) + signal
    # Cover every user and item once (a wrapped diagonal), then fill up with uniformly random cells.
    k = np.arange(max(n_users, n_items))
    cover = np.unique((k % n_users) * n_items + (k % n_items))
    rest = np.setdiff1d(np.arange(n_cells), cover)
    cells = np.concatenate([cover, rng.choice(rest, n_ratings - cover.size, replace=False)])
    cells = rng.permutation(cells)
    rows, cols = np.divmod(cells, n_items)
    ratings = np.clip(np.rint(full[rows, cols] + rng.normal(0, noise, cells.size)), 1, 5).astype(np.int64)
    times = 874_724_710 + rng.integers(0, 10**7, cells.size)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"{r + 1}\t{c + 1}\t{x}\t{t}\n" for r, c, x, t in zip(rows, cols, ratings, times, strict=True)]
    (out / "u.data").write_text("".join(lines))
    return out
