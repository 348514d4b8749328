"""Fixtures of the session tests: the two session classes side by side, variable kinds, local servers."""

from __future__ import annotations

import pytest

import graphmode as gm
from graphmode import tf, v1

# The session classes a side-by-side test runs under: TensorFlow's, then graphmode's in its place.
SESSION_CLASSES = {"tf": v1.Session, "graphmode": gm.Session}
INTERACTIVE_CLASSES = {"tf": v1.InteractiveSession, "graphmode": gm.InteractiveSession}


@pytest.fixture(params=list(SESSION_CLASSES))
def flavour(request: pytest.FixtureRequest) -> str:
    """Whose session the test runs: ``"tf"`` or ``"graphmode"`` (the test id says which)."""
    return request.param


@pytest.fixture
def session_class(flavour: str) -> type:
    """``tf.compat.v1.Session`` or ``graphmode.Session``."""
    return SESSION_CLASSES[flavour]


@pytest.fixture
def interactive_class(flavour: str) -> type:
    """``tf.compat.v1.InteractiveSession`` or ``graphmode.InteractiveSession``."""
    return INTERACTIVE_CLASSES[flavour]


@pytest.fixture(params=["resource", "reference"])
def make_variable(request: pytest.FixtureRequest):
    """Builds a variable of TF2's kind (resource) or TF1's (reference, ``use_resource=False``)."""

    def make(initial, **kwargs):
        return v1.Variable(initial, use_resource=request.param == "resource", **kwargs)

    return make


@pytest.fixture(scope="session")
def local_server():
    """An in-process gRPC server (``tf.distribute.Server.create_local_server``); it lives as long as the process."""
    return tf.distribute.Server.create_local_server()


@pytest.fixture
def raised_by():
    """Returns ``raised_by(call)``: what ``call()`` raises (failing if nothing).

    A TensorFlow session whose constructor raised fails in ``__del__`` (it never
    got a ``_session``). Collected later inside some C call, such as an import's
    ``ast.parse``, that failure corrupts CPython 3.11's recursion counters, so each
    half-built session the traceback holds is given the ``_session = None`` its
    ``__del__`` reads.
    """

    def raised(call) -> BaseException:
        try:
            call()
        except Exception as error:  # noqa: BLE001 - the caller checks what it is
            traceback = error.__traceback__
            while traceback is not None:
                half_built = traceback.tb_frame.f_locals.get("self")
                if isinstance(half_built, v1.Session) and "_session" not in vars(half_built):
                    half_built._session = None
                traceback = traceback.tb_next
            return error
        raise AssertionError(f"{call} raised nothing")

    return raised
