"""Which ``tf.contrib`` names are plain renames, read from TensorFlow's own upgrade-script tables.

TensorFlow's wheel ships the tables its ``tf_upgrade_v2`` script rewrites
TF1 code with (``tensorflow/tools/compatibility/``: ``all_renames_v2``,
``renames_v2``, ``tf_upgrade_v2``). They are read here at run time rather than
copied, so they stay TensorFlow's: a ``tf.contrib`` name counts as an exact
replacement when

* ``all_renames_v2.symbol_renames`` maps it to a target,
* the upgrade script does nothing else to its calls (no argument transformer,
  reorder, keyword rename or "manual edit required" warning), and
* the target exists in ``tf.compat.v1`` of the installed TensorFlow. Targets
  under ``tf.compat.v2`` (the ``tf.contrib.summary`` family) are left out: they
  have TensorFlow 2 semantics, not TF1's.

The few exact renames the tables lack are listed in :data:`HAND_WRITTEN`, each
with the reason it is exact. Where the tables cannot be read (a TensorFlow
build without them) only the hand-written entries resolve.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import NamedTuple

from graphmode._runtime import v1

_TABLES = "tensorflow.tools.compatibility"


class Rename(NamedTuple):
    """One ``tf.contrib`` name and the ``tf.compat.v1`` name that replaces it exactly.

    Attributes:
        path: the contrib name without ``tf.`` (``"contrib.rnn.BasicLSTMCell"``).
        target: the replacement's path inside ``tf.compat.v1`` (``"nn.rnn_cell.BasicLSTMCell"``).
        source: ``"tensorflow upgrade tables"`` or ``"graphmode"`` (hand-written).
    """

    path: str
    target: str
    source: str

    @property
    def target_name(self) -> str:
        """The replacement as a user writes it: ``tf.compat.v1.nn.rnn_cell.BasicLSTMCell``."""
        return f"tf.compat.v1.{self.target}"


TABLE_SOURCE = "tensorflow upgrade tables"
HAND_SOURCE = "graphmode"

# TF 1.15's tensorflow/contrib/rnn/__init__.py re-exported these core
# tf.nn.rnn_cell classes unchanged (the same objects), so the core names are
# exact; the upgrade tables list BasicLSTMCell, LSTMCell, GRUCell, ... but not
# these three.
# tf.contrib.framework re-exported the training_util global-step functions
# unchanged; the tables list other contrib.framework names but not these.
HAND_WRITTEN: Mapping[str, str] = {
    "contrib.rnn.DropoutWrapper": "nn.rnn_cell.DropoutWrapper",
    "contrib.rnn.DeviceWrapper": "nn.rnn_cell.DeviceWrapper",
    "contrib.rnn.ResidualWrapper": "nn.rnn_cell.ResidualWrapper",
    "contrib.framework.get_or_create_global_step": "train.get_or_create_global_step",
    "contrib.framework.get_global_step": "train.get_global_step",
}


def resolve_in_v1(target: str) -> object | None:
    """Returns ``tf.compat.v1.<target>`` or None when the installed TensorFlow lacks it."""
    value: object = v1
    for part in target.split("."):
        try:
            value = getattr(value, part)
        except Exception:  # noqa: BLE001 - lazy TensorFlow attributes may raise anything on access
            return None
    return value


def _v1_path(target: str) -> str | None:
    """The table's target (a TF2 or ``tf.compat.v1`` name) as a path inside ``tf.compat.v1``."""
    if target.startswith("tf.compat.v2.") or target.startswith("tfa."):
        return None
    if target.startswith("tf.compat.v1."):
        return target[len("tf.compat.v1."):]
    if target.startswith("tf."):
        return target[len("tf."):]
    return None


def _changed_calls(upgrade_module) -> set[str]:
    """Names whose calls the upgrade script rewrites beyond the rename (so not exact)."""
    spec = upgrade_module.TFAPIChangeSpec()
    changed: set[str] = set()
    for table in ("function_transformers", "function_warnings", "function_keyword_renames",
                  "function_reorders", "function_arg_warnings"):
        changed.update(getattr(spec, table, {}) or {})
    return changed


def read_upgrade_tables() -> dict[str, str]:
    """Reads the ``tf.contrib`` renames from TensorFlow's upgrade tables: ``{"tf.contrib.x": "tf.y"}``.

    Returns an empty dict when the installed TensorFlow does not ship the tables.
    """
    try:
        # TensorFlow itself is already loaded by graphmode._runtime; these are
        # plain data modules of its wheel (tf_upgrade_v2 also needs google-pasta,
        # a TensorFlow dependency).
        renames = importlib.import_module(f"{_TABLES}.all_renames_v2").symbol_renames
        changed = _changed_calls(importlib.import_module(f"{_TABLES}.tf_upgrade_v2"))
    except (ImportError, AttributeError):
        return {}
    return {name: target for name, target in renames.items()
            if name.startswith("tf.contrib.") and name not in changed}


@functools.lru_cache(maxsize=1)
def exact_renames() -> dict[str, Rename]:
    """All ``tf.contrib`` names with an exact ``tf.compat.v1`` replacement, by path without ``tf.``.

    Table entries whose target the installed ``tf.compat.v1`` lacks are left
    out, so they keep the removed-name error.
    """
    found: dict[str, Rename] = {}
    for name, target in read_upgrade_tables().items():
        v1_path = _v1_path(target)
        if v1_path is not None and resolve_in_v1(v1_path) is not None:
            found[name[len("tf."):]] = Rename(name[len("tf."):], v1_path, TABLE_SOURCE)
    for path, target in HAND_WRITTEN.items():
        if path not in found and resolve_in_v1(target) is not None:
            found[path] = Rename(path, target, HAND_SOURCE)
    return found
