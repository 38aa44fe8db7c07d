"""Where Tradeoff Lab keeps its files: one data directory, moved by TRADEOFF_LAB_HOME."""

from __future__ import annotations

import errno
import os
from pathlib import Path

ENV_HOME = "TRADEOFF_LAB_HOME"

# errno values that mean "this folder cannot be written" and "there is no room left". EFBIG is
# what a write past the process's file-size limit (ulimit -f) gets: the same remedy as a full disk.
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_A_FOLDER = {errno.ENOTDIR, errno.EEXIST}


def data_home() -> Path:
    """The data directory (runs, artifacts, uploads): $TRADEOFF_LAB_HOME or ~/.tradeoff-lab."""
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".tradeoff-lab").expanduser()


def uploads_dir() -> Path:
    return data_home() / "uploads"


class DataDirError(RuntimeError):
    """The data directory cannot be used as it is: read-only, full, not a folder, or damaged.

    The message names the directory, what is wrong and what to do. Whatever was stored before is
    left as it was.
    """

    def __init__(self, message: str, home: Path, reason: str):
        super().__init__(message)
        self.home = home
        self.reason = reason   # read-only | full | not-a-folder | not-a-store | unusable


def read_only_message(home: Path) -> str:
    return (f"The data directory {home} is read-only, so runs cannot be stored. Make it writable, "
            f"or set {ENV_HOME} to a writable folder.")


def full_message(home: Path, what: str) -> str:
    return (f"The disk holding the data directory {home} is full (or a file-size limit was reached): "
            f"{what} could not be written. Runs stored before are unchanged. Free some space, or set "
            f"{ENV_HOME} to a folder on a disk with room.")


def data_dir_error(exc: OSError, home: Path, what: str = "the run") -> DataDirError:
    """The user-facing error for an OSError met while writing ``what`` under ``home``."""
    code = exc.errno
    if code in _READ_ONLY:
        return DataDirError(read_only_message(home), home, "read-only")
    if code in _FULL:
        return DataDirError(full_message(home, what), home, "full")
    if code in _NOT_A_FOLDER:
        return DataDirError(f"The data directory {home} is not a folder (a file is in its way). Move "
                            f"that file, or set {ENV_HOME} to a folder.", home, "not-a-folder")
    reason = exc.strerror or type(exc).__name__
    return DataDirError(f"The data directory {home} cannot be used ({reason}). Check it, or set "
                        f"{ENV_HOME} to a writable folder.", home, "unusable")


def is_data_dir_os_error(exc: BaseException, home: Path | None = None) -> bool:
    """Whether ``exc`` is an OSError about a path inside the data directory (read-only, full...)."""
    if not isinstance(exc, OSError) or exc.filename is None:
        return False
    home = (home or data_home()).resolve()
    try:
        Path(os.fsdecode(exc.filename)).resolve().relative_to(home)
    except (ValueError, TypeError, OSError):
        return False
    return exc.errno in _READ_ONLY | _FULL | _NOT_A_FOLDER


def store_by_content(data: bytes, directory: Path, suffix: str) -> Path:
    """Write uploaded bytes once, named by their sha256 (never by the user's file name).

    The bytes go to a temporary file that is renamed into place, so a full disk leaves neither a
    half-written upload nor the temporary file; the error then names the data directory.
    """
    import hashlib

    path = directory / f"{hashlib.sha256(data).hexdigest()[:24]}{suffix}"
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".tmp")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise data_dir_error(exc, directory.parent, "the uploaded file") from None
    return path
