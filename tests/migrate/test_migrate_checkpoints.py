"""A TF1 checkpoint of the original loads into the migrated program's Model, both ways:
TensorFlow's own name-based restore (``tf.train.Checkpoint.restore`` of a Saver checkpoint, in the
program's Keras 3 process) and graphmode's loader (``gm.load_tf1_checkpoint`` on the Model)."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow

_RESTORE = """
import runpy, sys
import numpy as np
program, checkpoint = sys.argv[1:3]
sys.argv = [program, *sys.argv[3:]]
namespace = runpy.run_path(program, run_name="__main__")
import tensorflow as tf
status = namespace["saver"].restore(checkpoint)
status.assert_existing_objects_matched()
reader = tf.train.load_checkpoint(checkpoint)
for variable in namespace["model"].variables:
    name = variable.name.removesuffix(":0")
    print(name, float(np.max(np.abs(variable.numpy() - reader.get_tensor(name)))))
print("keras", tf.keras.__version__)
"""


@pytest.fixture(scope="module")
def tf1_checkpoint(migrated_classifier, tmp_path_factory):
    """A Saver checkpoint written by the original script (run under graphmode run, 30 steps)."""
    _, script = migrated_classifier
    prefix = tmp_path_factory.mktemp("tf1") / "model.ckpt"
    completed = subprocess.run(
        [sys.executable, "-m", "graphmode", "run", str(script), "--steps", "30", "--save", str(prefix)],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return str(prefix)


def test_tensorflows_name_based_restore_loads_the_tf1_checkpoint(migrated_classifier, tf1_checkpoint):
    migration, _ = migrated_classifier
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    completed = subprocess.run([sys.executable, "-c", _RESTORE, migration.output, tf1_checkpoint, "--steps", "0"],
                               env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.splitlines()
    differences = dict(line.split() for line in lines if line.startswith("classifier/"))
    assert set(differences) == {"classifier/w", "classifier/b"}
    assert all(float(value) == 0.0 for value in differences.values())
    assert lines[-1].startswith("keras 3.")


def test_graphmodes_loader_loads_the_tf1_checkpoint_by_the_models_names(migrated_classifier, tf1_checkpoint):
    import graphmode as gm

    migration, _ = migrated_classifier
    saved_argv = sys.argv
    sys.argv = [migration.output, "--steps", "0"]
    try:
        namespace = runpy.run_path(migration.output, run_name="__main__")
    finally:
        sys.argv = saved_argv
    model = namespace["model"]
    gm.load_tf1_checkpoint(tf1_checkpoint, model)
    reader = gm.tf.train.load_checkpoint(tf1_checkpoint)
    for variable in model.variables:
        np.testing.assert_array_equal(variable.numpy(), reader.get_tensor(variable.name.removesuffix(":0")))
