"""Feed checks: every value is converted the way TensorFlow converts it, or refused when that would change it.

TensorFlow's ``Session.run`` turns a feed into ``np.asarray(value).astype(dtype)``
(``np.asarray(value, dtype)`` for bool and strings). That cast wraps integers
that do not fit (``2**40 + 5`` into ``int32`` becomes ``5``), truncates floats
into ints and turns ``2`` into ``True``. Here the same conversion runs, and a
value it would change is refused with :class:`FeedRangeError` naming the
placeholder, the value and the range. Conversions that keep every value
(``[1, 2, 3]`` into ``uint8``, whole-number floats into ``int32``, ``0``/``1``
into ``bool``) pass, as do float narrowing and int-to-float, which round the
way TF1 programs have always relied on. String feeds become object arrays, so
bytes (trailing NULs included) arrive exactly as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from graphmode._runtime import tf
from graphmode.errors import FeedError, FeedRangeError, FeedTypeError, ForeignGraphError
from graphmode.session.feed_keys import expand_feed_dict, resolve_feed_key

_INTEGER_KINDS = "iub"
_NUMERIC_KINDS = "iubfc"


class FeedSpec(NamedTuple):
    """What a placeholder accepts: name, NumPy dtype and (partially known) shape."""

    name: str
    dtype: np.dtype
    shape: tuple[int | None, ...] | None

    def describe_shape(self) -> str:
        return describe_shape(self.shape)


def describe_shape(shape: Sequence[int | None] | None) -> str:
    """Formats a shape the way TF1 users read it: ``(?, 2)``; unknown rank is ``<unknown>``."""
    if shape is None:
        return "<unknown>"
    dims = ["?" if dim is None else str(dim) for dim in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def feed_spec(tensor: tf.Tensor) -> FeedSpec:
    """Returns the :class:`FeedSpec` of a feedable tensor.

    Raises:
        FeedTypeError: the tensor holds a resource handle or variant (nothing NumPy can hold).
    """
    try:
        dtype = np.dtype(tensor.dtype.as_numpy_dtype)
    except (KeyError, TypeError):
        raise FeedTypeError(_unfeedable_handle_message(tensor)) from None
    dims = tensor.shape.as_list() if tensor.shape.rank is not None else None
    return FeedSpec(tensor.name, dtype, None if dims is None else tuple(dims))


def _unfeedable_handle_message(tensor: tf.Tensor) -> str:
    if tensor.op.type in ("VarHandleOp", "VariableV2"):
        variable = tensor.op.name
        return (
            f"feed key '{tensor.name}' is the handle of resource variable '{variable}', which cannot be fed "
            f"(TF1's reference variables could be). Assign it instead ({variable}.load(value, session) or "
            "tf.compat.v1.assign), or feed a placeholder the graph reads"
        )
    return f"feed key '{tensor.name}' has dtype {tensor.dtype.name}, which cannot be fed from Python"


def _range(dtype: np.dtype) -> tuple[int, int]:
    if dtype.kind == "b":
        return 0, 1
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _range_problem(spec: FeedSpec, given: np.ndarray) -> str | None:
    """Says why ``given`` (numeric) would change on its way into an integer/bool placeholder, else None."""
    if given.size == 0:
        return None
    values = given
    if given.dtype.kind == "c":
        if np.any(given.imag != 0):
            return f"feed for placeholder '{spec.name}' has complex values; it expects {spec.dtype.name}"
        values = given.real
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not finite.all():
            bad = values[~finite].flat[0]
            return (
                f"feed for placeholder '{spec.name}' holds {bad}, which {spec.dtype.name} cannot hold; "
                "TensorFlow would turn it into an arbitrary integer"
            )
        fractional = values != np.trunc(values)
        if fractional.any():
            return (
                f"feed for placeholder '{spec.name}' has dtype {given.dtype} with non-whole values "
                f"(e.g. {values[fractional].flat[0].item()!r}); it expects {spec.dtype.name}, and TensorFlow would "
                "truncate them. Round or cast them yourself if that is what you mean"
            )
    low, high = _range(spec.dtype)
    smallest, largest = int(values.min()), int(values.max())
    if low <= smallest and largest <= high:
        return None
    culprit = smallest if smallest < low else largest
    wrapped = np.array(culprit, dtype=values.dtype).astype(spec.dtype).item() if values.dtype.kind != "f" else None
    would = f"; TensorFlow would wrap it to {wrapped!r}" if wrapped is not None else ""
    return (
        f"feed for placeholder '{spec.name}' holds {culprit}, outside {spec.dtype.name}'s range "
        f"[{low}, {high}]{would}. Feed values in range, or give the placeholder a wider dtype"
    )


def _python_int_problem(spec: FeedSpec, value: int) -> str | None:
    # TensorFlow's own rule for a Python int, to the letter: the NumPy scalar it becomes must compare
    # equal to it. NumPy compares a float scalar in its own precision, so 2**24 + 1 passes into float32
    # (rounded, as an array of ints would be) while 2**200 (inf) and 2**40 into int32 (wrapped) do not.
    if spec.dtype.kind in "OSU":
        return f"feed for placeholder '{spec.name}' is the int {value!r}; it expects a string (bytes or str)"
    try:
        with np.errstate(all="ignore"):
            converted = spec.dtype.type(np.array(value).astype(spec.dtype))
        if not converted != value:
            return None
        converted = converted.item()
    except OverflowError:
        converted = None
    if spec.dtype.kind in _INTEGER_KINDS:
        low, high = _range(spec.dtype)
        return f"feed for placeholder '{spec.name}' holds {value}, outside {spec.dtype.name}'s range [{low}, {high}]"
    return (
        f"feed for placeholder '{spec.name}' is the Python int {value}, which {spec.dtype.name} cannot hold "
        f"exactly (it would become {converted!r}). Feed a wider dtype"
    )


def _as_strings(spec: FeedSpec, value: object) -> np.ndarray:
    array = np.asarray(value, dtype=object)
    for item in array.flat:
        if not isinstance(item, (bytes, str, np.bytes_, np.str_)):
            raise FeedTypeError(
                f"feed for placeholder '{spec.name}' holds {item!r} ({type(item).__name__}); "
                f"it expects strings (bytes or str)"
            )
    return array


def _as_numbers(spec: FeedSpec, value: object) -> np.ndarray:
    if isinstance(value, np.ndarray):
        given = value
    else:
        try:
            given = np.asarray(value)
        except ValueError as error:  # ragged nested lists
            raise FeedError(f"feed for placeholder '{spec.name}' is not a rectangular array: {error}") from None
    if given.dtype == spec.dtype:
        return given
    kind, want = given.dtype.kind, spec.dtype.kind
    if kind == "O":
        natural = _as_plain_numbers(given)
        return _from_objects(spec, given) if natural is None else _as_numbers(spec, natural)
    if kind not in _NUMERIC_KINDS:
        return _from_text(spec, given)
    if want in _INTEGER_KINDS:
        always_fits = kind == "b" or (kind in "iu" and _fits(given.dtype, spec.dtype))
        problem = None if always_fits else _range_problem(spec, given)
        if problem:
            raise FeedRangeError(problem)
        return (given.real if kind == "c" else given).astype(spec.dtype)
    if kind == "c" and want != "c":
        if np.any(given.imag != 0):
            raise FeedRangeError(f"feed for placeholder '{spec.name}' has complex values; it expects {spec.dtype.name}")
        given = given.real
    return given.astype(spec.dtype)


def _from_text(spec: FeedSpec, given: np.ndarray) -> np.ndarray:
    """Strings (or other non-numbers) for a numeric placeholder: refused, as the class TensorFlow's parse raises."""
    try:
        parsed = given.astype(spec.dtype)
    except OverflowError:  # "-1" into uint8: TensorFlow's parse overflows
        parsed, error_class = None, FeedRangeError
    except (TypeError, ValueError):  # "1.5" into int32, "a" into float32: TensorFlow's parse fails
        parsed, error_class = None, FeedError
    else:
        error_class = FeedError  # TensorFlow would parse the text into numbers
    if parsed is not None and given.size == 0:
        return parsed  # nothing to parse: TensorFlow feeds an empty array
    raise error_class(
        f"feed for placeholder '{spec.name}' has dtype {given.dtype}; it expects {spec.dtype.name} "
        "(text is not parsed into numbers here: convert the values yourself)"
    )


def _fits(given: np.dtype, expected: np.dtype) -> bool:
    # Every value of `given` fits `expected` (int8 into int32, uint8 into int16): no scan needed.
    return expected.kind != "b" and np.can_cast(given, expected, casting="safe")


def _as_plain_numbers(given: np.ndarray) -> np.ndarray | None:
    """An object array of numbers as the array its items make as a list (``[0.1, 0.2]`` -> float64), else None.

    So ``np.array([0.1, 0.2], dtype=object)`` is checked as ``[0.1, 0.2]`` is:
    rounded into float32, refused where an integer dtype would truncate.
    """
    try:
        natural = np.array(given.tolist())
    except (ValueError, OverflowError, TypeError):
        return None
    return natural if natural.dtype.kind in _NUMERIC_KINDS and natural.shape == given.shape else None


def _from_objects(spec: FeedSpec, given: np.ndarray) -> np.ndarray:
    # What is left: Python ints too large for any NumPy integer, None, strings mixed with numbers.
    try:
        converted = given.astype(spec.dtype)
    except OverflowError:
        raise FeedRangeError(_first_changed(spec, given, None)) from None
    except (TypeError, ValueError) as error:
        # The class TensorFlow's own conversion raises here (TypeError for None, ValueError for "a").
        error_class = FeedTypeError if isinstance(error, TypeError) else FeedError
        raise error_class(f"feed for placeholder '{spec.name}' cannot become {spec.dtype.name}: {error}") from None
    if any(a != b for a, b in zip(converted.ravel().tolist(), given.ravel().tolist())):
        raise FeedRangeError(_first_changed(spec, given, converted))
    return converted


def _first_changed(spec: FeedSpec, given: np.ndarray, converted: np.ndarray | None) -> str:
    items = given.ravel().tolist()
    culprit = items[0]
    for index, item in enumerate(items):
        try:
            same = converted is not None and converted.ravel()[index].item() == item
        except (TypeError, ValueError):
            same = False
        if not same:
            culprit = item
            break
    return f"feed for placeholder '{spec.name}' holds {culprit!r}, which {spec.dtype.name} cannot hold exactly"


def convert_feed(spec: FeedSpec, value: object) -> np.ndarray:
    """Returns ``value`` as the array TensorFlow would feed, refusing any change of value.

    Raises:
        FeedTypeError: ``value`` is a ``tf.Tensor``, or a non-string for a string placeholder.
        FeedRangeError: converting would change a value (wrap, truncate, round a Python int).
        FeedError: the value's shape or dtype does not fit, naming the placeholder.
    """
    if isinstance(value, tf.Tensor):
        raise FeedTypeError(
            f"feed for placeholder '{spec.name}' is the tf.Tensor '{value.name}'; feed values are arrays, "
            "lists or scalars (run the tensor first, or feed its producer's inputs)"
        )
    if isinstance(value, int):
        problem = _python_int_problem(spec, value)
        if problem:
            raise FeedRangeError(problem) if spec.dtype.kind not in "OSU" else FeedTypeError(problem)
    array = _as_strings(spec, value) if spec.dtype.kind == "O" else _as_numbers(spec, value)
    if spec.shape is not None and (
        len(array.shape) != len(spec.shape)
        or any(want is not None and want != got for want, got in zip(spec.shape, array.shape))
    ):
        raise FeedError(
            f"feed for placeholder '{spec.name}' has shape {describe_shape(array.shape)}; "
            f"it expects {spec.describe_shape()}"
        )
    return array


def unfeedable_count(graph: tf.Graph) -> int:
    """How many tensors the graph prevents feeding (``prevent_feeding`` only ever adds one)."""
    return len(graph._unfeedable_tensors)


class _Remembered(NamedTuple):
    spec: FeedSpec
    tensor: tf.Tensor
    shape: object  # the tensor's TensorShape object the spec was read from; set_shape replaces it
    unfeedable: int


def spec_for(graph: tf.Graph, key: object, cache: dict) -> FeedSpec | None:
    """Returns the :class:`FeedSpec` for a feed key (None for keys TensorFlow checks itself).

    A spec remembered in ``cache`` is used while the placeholder's shape object
    and the graph's count of unfeedable tensors are those it was made with;
    otherwise it is made again (a later ``set_shape`` or ``prevent_feeding``).

    Raises:
        FeedTypeError, ForeignGraphError, FeedError: the key cannot be fed.
    """
    remembered = cache.get(key) if isinstance(key, (str, tf.Tensor)) else None
    if (
        remembered is not None
        and remembered.tensor.shape is remembered.shape
        and remembered.unfeedable == unfeedable_count(graph)
    ):
        return remembered.spec
    tensor = resolve_feed_key(graph, key)
    if tensor is None:
        return None
    shape = tensor.shape
    spec = feed_spec(tensor)
    if not graph.is_feedable(tensor):
        raise FeedError(
            f"placeholder '{tensor.name}' may not be fed (the graph prevents feeding it: graph.prevent_feeding); "
            "feed a tensor the graph allows, or build the graph without that call"
        )
    cache[key] = _Remembered(spec, tensor, shape, unfeedable_count(graph))
    return spec


def validate_feed_dict(graph: tf.Graph, feed_dict: dict, spec_cache: dict) -> dict:
    """Checks every entry of ``feed_dict`` and returns it with values as the arrays TensorFlow would feed.

    Composite and nested keys come back expanded (see :func:`~graphmode.session.feed_keys.expand_feed_dict`),
    one entry per tensor.

    All problems are reported together, one line per placeholder; the error's
    class is the first problem's (the one TensorFlow would have raised).

    Raises:
        FeedError (or its subclasses) / ForeignGraphError: naming each culprit, expected vs given.
    """
    checked = {}
    problems: list[Exception] = []
    for key, value in expand_feed_dict(feed_dict):
        try:
            spec = spec_for(graph, key, spec_cache)
            checked[key] = value if spec is None else convert_feed(spec, value)
        except (FeedError, ForeignGraphError) as error:
            problems.append(error)
    if problems:
        if len(problems) == 1:
            raise problems[0]
        raise type(problems[0])("\n".join(["bad feeds:", *(str(problem) for problem in problems)]))
    return checked
