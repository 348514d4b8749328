"""run_steps hands out losses the caller owns: edits to one result reach neither the graph nor a later result."""

from __future__ import annotations

import numpy as np
import pytest

import graphmode as gm
from graphmode import tf, v1


@pytest.mark.parametrize("steps_per_call", [1, 3])
def test_losses_share_no_memory_and_edits_stay_with_the_caller(steps_per_call):
    graph = gm.new_graph()
    with graph.as_default():
        # A constant plus a variable's value (a reference variable where the loop allows one: one step per call).
        weight = v1.Variable(2.0, use_resource=steps_per_call > 1, name="w")
        offset = tf.constant(1.0)
        step = gm.build_step(
            lambda x: offset + weight * tf.reduce_sum(x),
            v1.train.GradientDescentOptimizer(0.0),
            input_specs=[tf.TensorSpec([6, 2], name="x")],
            steps_per_call=steps_per_call,
        )
        init = v1.global_variables_initializer()
    inputs = (np.ones((6, 2), np.float32),)
    with gm.Session(graph=graph) as session:
        session.run(init)
        first = gm.run_steps(session, step, 6, inputs=inputs)
        first.losses[:] = -1.0
        second = gm.run_steps(session, step, 6, inputs=inputs)
    assert not np.shares_memory(first.losses, second.losses)
    assert second.losses.tolist() == [25.0] * 6  # 1 + 2 * 12 (the sum of six rows of ones), the learning rate is 0
