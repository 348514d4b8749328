"""``tf.app.flags`` / ``tf.flags`` under the TF1 API: absl's flags with what TF1 scripts relied on.

TensorFlow's flags are absl's. Two things TF1 scripts did stop with absl as
TensorFlow 2 loads it; graphmode's ``DEFINE_*`` functions accept them as TF1 did:

* NumPy scalar defaults and bounds (``DEFINE_integer("batch_size", np.power(2, 7), ...)``):
  absl's parsers take Python ``int`` / ``float`` / ``bool`` only, so an ``np.integer``,
  ``np.floating`` or ``np.bool_`` given to ``DEFINE_integer``, ``DEFINE_float`` or
  ``DEFINE_bool`` is passed on as the Python scalar it holds. absl then checks it as
  usual: ``DEFINE_integer("n", np.float32(2.5))`` still fails, as it did.
* a flag a library defined before the script ran (``log_dir``, ``v``, ``verbosity`` from
  ``absl.logging``, which TensorFlow 1.x did not load; ``test_tmpdir`` from
  ``absl.testing``): the script's definition replaces it, with one line on stderr,
  so the script gets its own default, as under TF1. Flags that absl's ``app`` module
  defines (``help``, ``pdb``, ...) existed under TF1 too and keep absl's duplicate-flag error,
  as does a script defining its own flag twice.

``from absl import flags`` in a script is absl's, untouched.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import numpy as np

from graphmode._runtime import v1

# absl.app's flags existed under TF 1.x (tf.app.run was absl's), so redefining them failed then too.
_DEFINED_UNDER_TF1 = ("absl.app", "absl.flags")
# Libraries whose flags a TF1 script may redefine (the script's own modules keep absl's duplicate check).
_LIBRARIES = ("absl", "tensorflow", "tf_keras", "keras")
_SCALAR_DEFINES = {
    "DEFINE_integer": np.integer,
    "DEFINE_float": (np.floating, np.integer),
    "DEFINE_bool": np.bool_,
    "DEFINE_boolean": np.bool_,
}
_NUMERIC_KEYWORDS = ("default", "lower_bound", "upper_bound")
_announced: set[str] = set()


def _as_python(value: object, numpy_types) -> object:
    return value.item() if isinstance(value, numpy_types) else value


def _flag_values(kwargs: dict) -> object:
    return kwargs.get("flag_values") or v1.flags.FLAGS


def _library_defined(name: str, flag_values) -> str | None:
    """The library module that defined flag ``name`` before the script, when TF 1.x would not have; else None."""
    if name not in flag_values:
        return None
    module = flag_values.find_module_defining_flag(name) or ""
    if module.startswith(_DEFINED_UNDER_TF1):
        return None
    return module if module.partition(".")[0] in _LIBRARIES else None


def _tf1_define(define: Callable, numpy_types) -> Callable:
    @functools.wraps(define)
    def define_as_tf1(*args, **kwargs):
        args = list(args)
        if numpy_types is not None:
            # DEFINE_integer(name, default, help, lower_bound, upper_bound, ...) positionally too.
            for index in range(1, min(len(args), 5)):
                if index != 2:
                    args[index] = _as_python(args[index], numpy_types)
            for key in _NUMERIC_KEYWORDS:
                if key in kwargs:
                    kwargs[key] = _as_python(kwargs[key], numpy_types)
        name = args[0] if args else kwargs.get("name")
        flag_values = _flag_values(kwargs)
        owner = _library_defined(name, flag_values) if isinstance(name, str) else None
        if owner is not None:
            delattr(flag_values, name)
            if name not in _announced:
                _announced.add(name)
                print(f"graphmode: the script's flag --{name} replaces the one {owner} defines "
                      "(TensorFlow 1.x did not load it)", file=sys.stderr)
        return define(*args, **kwargs)

    return define_as_tf1


def tf1_flag_functions() -> dict[str, Callable]:
    """graphmode's ``DEFINE_*`` for the TF1 module's ``flags`` namespace, by name."""
    real = v1.flags
    return {
        name: _tf1_define(getattr(real, name), _SCALAR_DEFINES.get(name))
        for name in dir(real)
        if name.startswith("DEFINE") and callable(getattr(real, name))
    }
