"""A divergence can say where the reference built its quantity (a recording knows each variable's script line)."""

from __future__ import annotations

import numpy as np

from graphmode.parity.divergence import LOSS, Divergence
from graphmode.parity.lockstep_report import LockstepQuantity, LockstepReport

ORIGINS = {"layer/w": "built at train.py:12", LOSS: "built at train.py:20"}


def _divergence(name, quantity):
    return Divergence("value", 3, name, (2,), (2,), 0.5, 0.25, (1,), 2.0, 2.5, 1e-6, 1e-5, "trace", "eager",
                      quantity=quantity, phase="update", over_tolerance=2.5e4, rule="max|a-b| <= atol + rtol*max|ref|")


def test_a_located_divergence_names_the_line_after_what_diverged():
    text = _divergence("layer/w", "variable").located(ORIGINS).format()
    assert text.startswith("step 3, variable 'layer/w' after the update, built at train.py:12 (shape (2,) on both "
                           "sides): max abs diff 0.5")
    assert _divergence("loss", "loss").located(ORIGINS).origin == "built at train.py:20"
    unknown = _divergence("layer/b", "variable")
    assert unknown.located(ORIGINS) is unknown and ", built at" not in unknown.format()


def test_a_lockstep_report_locates_each_quantitys_first_divergence():
    def quantity(name, divergence):
        return LockstepQuantity(name, name, "variable", (2,), 0, np.zeros(4), np.array([0, 0, 0, 2.5e4]), divergence)

    report = LockstepReport("trace", "eager", 1e-6, 1e-5, 3, quantity("loss", None),
                            (quantity("layer/w", _divergence("layer/w", "variable")),), ())
    located = report.located(ORIGINS)
    assert located.first_divergence.origin == "built at train.py:12"
    assert report.first_divergence.origin == ""  # the original report is unchanged
    assert located.to_dict()["first_divergence"]["origin"] == "built at train.py:12"
