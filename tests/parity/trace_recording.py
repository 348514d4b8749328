"""Recording a :class:`graphmode.GraphModel`'s training into a trace in this process.

The recorder ``graphmode run --record`` installs around a script's sessions
(:class:`graphmode.trace.recorder.Recorder`), driven here around the runs a
TF1 training loop makes: initialize, then ``sess.run([train_op, loss], feed)``
per batch. A subprocess per trace would cost a TensorFlow start-up each; the
tests of ``graphmode run --record`` itself live in ``tests/trace``.
"""

from __future__ import annotations

from pathlib import Path

import graphmode as gm
from graphmode import v1
from graphmode.trace.recorder import Recorder
from graphmode.trace.writer import prepare_folder


def record_graph_model(model: gm.GraphModel, batches: list[tuple], folder: Path, *, fetch_loss: bool = True) -> gm.Trace:
    """Trains ``model`` on ``batches`` (one train run per batch) while recording, and opens the trace.

    ``fetch_loss=False``: the train runs fetch the train op alone, as scripts that print no loss do.
    """
    directory = prepare_folder(str(folder))
    recorder = Recorder(directory, steps=len(batches), script=("in-process", ()))
    # The graph is the default throughout, as in a TF1 script (the recorder exports it as a MetaGraphDef).
    with model.graph.as_default():
        _train(model, batches, recorder, fetch_loss)
    return gm.Trace(directory)


def _train(model: gm.GraphModel, batches: list[tuple], recorder: Recorder, fetch_loss: bool) -> None:
    initialize = v1.variables_initializer(v1.global_variables() + v1.local_variables())
    session = gm.Session(graph=model.graph)
    try:
        session.run(initialize)
        for batch in batches:
            fetches = [model.train_op, model.loss] if fetch_loss else [model.train_op]
            feed = dict(zip(model.inputs, batch))
            token = recorder.before_run(session, fetches, feed)
            result = session.run(fetches, feed)
            if token is not None:
                recorder.after_run(token, result)
    finally:
        session.close()
        recorder.close("steps")
