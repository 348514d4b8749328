"""What an interrupted save leaves in a checkpoint directory, whose it is, and whether it is stale.

A save (:mod:`graphmode.checkpoint.atomic`) works under names that carry the
writer's host and process id:

- ``.NAME.graphmode-staging-HOST-PID-XXXXXXXX/``: the new bundle being written;
- ``.NAME.graphmode-previous-HOST-PID.index`` / ``.data-*``: hard links to the
  checkpoint ``NAME`` being replaced, kept (and named by the state file) while
  ``NAME``'s own files are swapped;
- ``.checkpoint.graphmode-HOST-PID-XXXXXXXX``: the next ``checkpoint`` state
  file before its atomic rename.

One is *stale* when its writer is gone: same host and the process no longer
exists, or (other host, or written by a graphmode that did not record its
owner) untouched for :data:`STALE_AFTER_S`. The current process's own names
are stale unless a save of this process is using them now.
"""

from __future__ import annotations

import os
import re
import socket
import time
from typing import NamedTuple

STALE_AFTER_S = 3600.0
_RANDOM = r"[a-z0-9_]{8}"
_STAGING = re.compile(rf"^\.(?P<base>.+)\.graphmode-staging-(?:(?P<host>[A-Za-z0-9.-]+)-(?P<pid>\d+)-)?{_RANDOM}$")
_PREVIOUS = re.compile(
    r"^\.(?P<base>.+)\.graphmode-previous-(?P<host>[A-Za-z0-9.-]+)-(?P<pid>\d+)\.(?:index|data-\d{5}-of-\d{5})$")
_STATE_TEMP = re.compile(rf"^\.checkpoint\.(?:graphmode-(?P<host>[A-Za-z0-9.-]+)-(?P<pid>\d+)-)?{_RANDOM}$")
_KINDS = (("staging", _STAGING), ("previous", _PREVIOUS), ("state temp", _STATE_TEMP))
# Names a save of this process is using right now (never stale).
ACTIVE: set[str] = set()


class Leftover(NamedTuple):
    """A file or directory an interrupted save may have left.

    Attributes:
        path: its path.
        kind: ``staging`` (a half-written bundle), ``previous`` (the copy of a
            checkpoint kept while it was being replaced) or ``state temp``.
        base: the checkpoint name it belongs to (``""`` for a state temp).
        owner: ``"HOST:PID"`` of the writer, or ``""`` when not recorded.
        age_s: seconds since it last changed.
        stale: its writer is gone (the next save to the directory removes it).
    """

    path: str
    kind: str
    base: str
    owner: str
    age_s: float
    stale: bool

    def prefix(self) -> str:
        """For a ``previous`` copy: the checkpoint prefix it forms."""
        return re.sub(r"\.(index|data-\d{5}-of-\d{5})$", "", self.path)


def this_host() -> str:
    """The host token written into working names."""
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:64] or "host"


def staging_prefix(base: str) -> str:
    """The ``tempfile.mkdtemp`` prefix of this process's staging directory for ``base``."""
    return f".{base}.graphmode-staging-{this_host()}-{os.getpid()}-"


def previous_prefix(base: str) -> str:
    """This process's name for the kept copy of checkpoint ``base`` (a checkpoint prefix)."""
    return f".{base}.graphmode-previous-{this_host()}-{os.getpid()}"


def state_temp_prefix() -> str:
    """The ``tempfile.mkstemp`` prefix of this process's next state file."""
    return f".checkpoint.graphmode-{this_host()}-{os.getpid()}-"


def _writer_gone(host: str | None, pid: str | None, name: str, age: float) -> bool:
    if host is None or host != this_host():
        return age >= STALE_AFTER_S
    if int(pid) == os.getpid():
        return name not in ACTIVE
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return False


def find_leftovers(directory: str) -> list[Leftover]:
    """Lists what interrupted saves left in ``directory`` (nothing when it does not exist)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    now = time.time()
    found = []
    for name in names:
        for kind, pattern in _KINDS:
            match = pattern.match(name)
            if match is None:
                continue
            path = os.path.join(directory, name)
            try:
                age = max(0.0, now - os.lstat(path).st_mtime)
            except OSError:
                break
            host, pid = match.group("host"), match.group("pid")
            key = name if kind != "previous" else re.sub(r"\.(index|data-\d{5}-of-\d{5})$", "", name)
            found.append(Leftover(path, kind, match.groupdict().get("base") or "", f"{host}:{pid}" if host else "",
                                  age, _writer_gone(host, pid, key, age)))
            break
    return found
