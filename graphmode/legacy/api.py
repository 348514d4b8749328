"""The TF1 API: a module that stands in for ``tensorflow`` inside TF1 scripts.

``enable_tf1()`` (and ``graphmode run``) switch a process to it:

* TensorFlow's v2 behaviour is disabled (``tf.compat.v1.disable_v2_behavior``):
  graph mode, reference variables, v1 control flow, as TF 1.15 ran.
* An import hook makes ``import tensorflow as tf`` in *user code* (the script
  and modules next to it, not installed libraries such as tf-keras, which need
  the real TensorFlow 2 namespace) return the TF1 module: everything
  ``tf.compat.v1`` has, with ``Session`` / ``InteractiveSession`` replaced by
  graphmode's. ``import tensorflow.compat.v1 as tf`` gives the same module;
  ``from tensorflow.python.framework import ops`` and other submodule imports
  get the real modules.
* ``tf.flags`` / ``tf.app.flags`` are absl's with TF1's leniency
  (:mod:`graphmode.legacy.flags`: NumPy scalar defaults, redefining a flag absl's
  logging defines).
* ``tf.contrib`` is graphmode's namespace of its moved pieces
  (:mod:`graphmode.contrib.namespace`: exact renames, adapters, tf-slim).
* ``tensorflow.examples.tutorials.mnist.input_data`` and
  ``tf.contrib.learn.datasets`` are TF 1.15's MNIST loader
  (:mod:`graphmode.mnist.input_data`), listed in ``_PROVIDED``.
* Names TensorFlow 2 dropped without a ``tf.compat.v1`` equivalent (the rest
  of ``tf.contrib`` and ``tensorflow.examples``, ``tf.estimator``) raise
  :class:`RemovedSymbolError` / :class:`RemovedModuleError` naming the symbol,
  the script's file:line and the replacement.

``importlib.import_module("tensorflow")`` bypasses the hook and returns the
real TensorFlow 2 module.
"""

from __future__ import annotations

import builtins
import os
import site
import sys
import sysconfig
import types
from collections.abc import Callable, Sequence

from graphmode._runtime import tf, v1
from graphmode.contrib import namespace as contrib
from graphmode.errors import RemovedModuleError, RemovedSymbolError
from graphmode.legacy import flags, removed
from graphmode.legacy.sessions import TF1InteractiveSession, TF1Session
from graphmode.mnist import input_data as mnist

_MISSING = object()
# Modules TensorFlow 2 dropped that graphmode provides itself (path without `tf.` -> factory).
_PROVIDED = {
    "examples": mnist.examples_module,
    "contrib.learn.datasets": mnist.contrib_learn_datasets,
    "contrib.learn.python.learn.datasets": mnist.contrib_learn_datasets,
}
# graphmode/ itself, not only legacy/: every graphmode frame is library code.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _TF1Namespace(types.ModuleType):
    """A read-through view of a ``tf.compat.v1`` (sub)module with graphmode's substitutions.

    Attributes are looked up on the real module on first use and cached. A
    name the real module lacks raises :class:`RemovedSymbolError` when it is a
    known dropped TF1 name, else an ordinary ``AttributeError``.
    """

    def __init__(self, path: str, real: types.ModuleType, overrides: dict[str, object]) -> None:
        super().__init__("tensorflow" + (f".{path}" if path else ""), getattr(real, "__doc__", None))
        self.__dict__["_tf1_path"] = path
        self.__dict__["_tf1_real"] = real
        self.__dict__.update(overrides)

    def _tf1_lookup(self, name: str):
        """Returns the attribute, or ``_MISSING``; never raises for absent names."""
        cached = self.__dict__.get(name, _MISSING)
        if cached is not _MISSING:
            return cached
        path = f"{self._tf1_path}.{name}" if self._tf1_path else name
        try:
            value = getattr(self._tf1_real, name)
        except AttributeError:
            # Submodules TensorFlow keeps out of its public namespace
            # (tensorflow.python, tensorflow.core) are still importable.
            value = sys.modules.get(f"tensorflow.{path}", _MISSING)
            if value is _MISSING:
                value = _provided(path)
            if value is _MISSING:
                return _MISSING
        if isinstance(value, types.ModuleType) and path in removed.PARENTS_OF_REMOVED:
            value = _TF1Namespace(path, value, {})
        self.__dict__[name] = value
        return value

    def __getattr__(self, name: str):
        value = self._tf1_lookup(name)
        if value is not _MISSING:
            return value
        path = f"{self._tf1_path}.{name}" if self._tf1_path else name
        if removed.find_removed(path) is not None:
            raise _removed_symbol_error(name, self._tf1_path)
        raise AttributeError(
            f"module 'tensorflow{'.' + self._tf1_path if self._tf1_path else ''}' (graphmode's TF1 API: "
            f"tf.compat.v1) has no attribute '{name}'",
            name=name,
            obj=self,
        )

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._tf1_real)) | {k for k in self.__dict__ if not k.startswith("_tf1_")})

    def __repr__(self) -> str:
        return f"<graphmode TF1 API module {self.__name__!r} (tf.compat.v1 with graphmode's sessions)>"


def _provided(path: str):
    """A module graphmode provides at ``path``; an empty namespace on the way to one; else ``_MISSING``."""
    factory = _PROVIDED.get(path)
    if factory is not None:
        return factory()
    if any(key.startswith(f"{path}.") for key in _PROVIDED):
        # A namespace, so lookups below it reach the provided module and other
        # names (tf.contrib.layers) keep their removed-name advice.
        return _TF1Namespace(path, types.ModuleType(f"tensorflow.{path}"), {})
    return _MISSING


def _build_module() -> _TF1Namespace:
    module = _TF1Namespace("", v1, {"Session": TF1Session, "InteractiveSession": TF1InteractiveSession})
    # tf.compat.v1 inside a TF1 script is this same module; tf.compat.v2 stays TensorFlow 2's.
    module.__dict__["compat"] = _TF1Namespace("compat", tf.compat, {"v1": module, "v2": tf.compat.v2})
    # tf.flags and tf.app.flags: absl's, with the NumPy defaults and redefinitions TF1 accepted.
    tf1_flags = _TF1Namespace("flags", v1.flags, flags.tf1_flag_functions())
    module.__dict__["flags"] = tf1_flags
    module.__dict__["app"] = _TF1Namespace("app", v1.app, {"flags": tf1_flags})
    # tf.contrib: its moved pieces resolve (one stderr line each), the rest keeps the removed-name advice.
    module.__dict__["contrib"] = contrib.ContribNamespace(
        "contrib", _MISSING, lambda name, parent: _removed_symbol_error(name, parent), _PROVIDED)
    module.__dict__["__all__"] = [name for name in dir(v1) if not name.startswith("_")]
    return module


TF1 = _build_module()
# The namespaces whose _tf1_lookup resolves a name without side effects (scan and imports use it).
NAMESPACES = (_TF1Namespace, contrib.ContribNamespace)


def _user_location() -> tuple[str, int]:
    """The innermost frame outside graphmode and the import machinery: the user's line."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (filename.startswith(_PACKAGE_DIR) or filename.startswith("<frozen importlib")):
            return filename, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0


def _removed_symbol_error(name: str, parent: str) -> RemovedSymbolError:
    filename, lineno = _user_location()
    written = removed.symbol_as_written(removed.source_line(filename, lineno), name, parent)
    symbol, path = written or (f"tf.{parent}.{name}" if parent else f"tf.{name}", f"{parent}.{name}".lstrip("."))
    advice = removed.describe_removed(symbol, removed.find_removed(path))
    return RemovedSymbolError(f"{filename}:{lineno}: {advice}", name=name)


def _removed_module_error(dotted: str) -> RemovedModuleError:
    filename, lineno = _user_location()
    advice = removed.describe_removed(dotted, removed.find_removed(dotted.partition(".")[2]))
    return RemovedModuleError(f"{filename}:{lineno}: {advice}", name=dotted)


def _resolve(parts: list[str]):
    value = TF1
    for part in parts:
        if isinstance(value, NAMESPACES):
            value = value._tf1_lookup(part)
        else:
            value = getattr(value, part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def import_tf1(
    name: str, fromlist: Sequence[str] | None = (), original_import: Callable = builtins.__import__
) -> types.ModuleType:
    """What ``import``/``from ... import`` of ``tensorflow[.x.y]`` gives user code under the TF1 API.

    Args:
        name: the dotted module name after ``import`` / ``from`` (starts with ``tensorflow``).
        fromlist: the names after ``import`` in ``from name import a, b`` (empty for ``import name``).
        original_import: the ``__import__`` used to load real submodules.

    Returns:
        For ``import tensorflow.x``: the TF1 module (the statement then walks
        ``.x`` on it). For ``from tensorflow.x import a``: the TF1 view of
        ``tensorflow.x`` when there is one, else the real module.

    Raises:
        RemovedModuleError: the module or a name imported from it was dropped
            in TensorFlow 2 (``tensorflow.contrib``, ``tensorflow.examples``).
    """
    parts = name.split(".")[1:]
    # Imported names first, so the error names input_data in
    # `from tensorflow.examples.tutorials.mnist import input_data`.
    for candidate in [parts + [item] for item in fromlist or () if item != "*"] + [parts]:
        if _resolve(candidate) is _MISSING and removed.find_removed(".".join(candidate)) is not None:
            raise _removed_module_error(".".join(["tensorflow", *candidate]))
    target = _resolve(parts)
    if not fromlist:
        if not isinstance(target, types.ModuleType):
            # A submodule not reachable as an attribute yet: load it (or fail as Python would).
            original_import(name, None, None, (), 0)
        return TF1
    wanted = [item for item in fromlist if item != "*"]
    if isinstance(target, types.ModuleType) and all(_resolve([*parts, item]) is not _MISSING for item in wanted):
        return target
    return original_import(name, None, None, fromlist, 0)


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(getattr(site, "getsitepackages", list)())
    roots.add(site.getusersitepackages())
    roots.add(_PACKAGE_DIR)
    return tuple(os.path.join(os.path.realpath(root), "") for root in roots if root)


_LIBRARY_ROOTS = _library_roots()
_user_file_cache: dict[str, bool] = {}


def is_user_module(module_globals: dict | None) -> bool:
    """True when the importing code is the user's (a script), not an installed library.

    The script (``__main__``), code without a file (``exec``, ``python -c``)
    and files outside the interpreter's standard library and site-packages are
    the user's; graphmode itself is not.
    """
    if not module_globals or module_globals.get("__name__") == "__main__":
        return True
    filename = module_globals.get("__file__")
    if not filename:
        return True
    verdict = _user_file_cache.get(filename)
    if verdict is None:
        verdict = not os.path.realpath(filename).startswith(_LIBRARY_ROOTS)
        _user_file_cache[filename] = verdict
    return verdict


_hook_state: dict[str, object] = {}


def _install_import_hook() -> None:
    if "original" in _hook_state:
        return
    original = builtins.__import__

    def tf1_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and (name == "tensorflow" or name.startswith("tensorflow.")):
            module_globals = globals if globals is not None else sys._getframe(1).f_globals
            if is_user_module(module_globals):
                return import_tf1(name, fromlist, original)
        return original(name, globals, locals, fromlist, level)

    _hook_state["original"] = original
    builtins.__import__ = tf1_import


def enable_tf1() -> types.ModuleType:
    """Switches this process to the TF1 API and returns the TF1 ``tensorflow`` module.

    After the call, ``import tensorflow as tf`` in user code gives the TF1 API
    (``tf.compat.v1`` with graphmode's sessions) and TensorFlow runs with v2
    behaviour disabled. The switch is process-wide and stays on, as
    ``tf.compat.v1.disable_v2_behavior()`` does; call it before building any
    model. ``graphmode run`` calls it for the script.

    Example:
        >>> import graphmode
        >>> tf = graphmode.enable_tf1()      # or afterwards: import tensorflow as tf
        >>> x = tf.placeholder(tf.float32, [None, 2])
        >>> with tf.Session() as sess: ...

    Returns:
        The TF1 module (the same object ``import tensorflow`` then gives).
    """
    if not _hook_state.get("v2_disabled"):
        # disable_v2_behavior logs a deprecation notice about resource
        # variables; it is graphmode's doing, not the script's, so keep it quiet.
        verbosity = v1.logging.get_verbosity()
        v1.logging.set_verbosity(v1.logging.ERROR)
        try:
            v1.disable_v2_behavior()
        finally:
            v1.logging.set_verbosity(verbosity)
        _hook_state["v2_disabled"] = True
    _install_import_hook()
    # `import tf_slim` in a script: its batch_norm needs a tf-keras path TensorFlow 2.21 lost.
    contrib.install_legacy_layers_alias()
    return TF1
