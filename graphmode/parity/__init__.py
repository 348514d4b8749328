"""Parity: compare a graph model and its eager rewrite step by step (lockstep verdict, free-run drift).

Layered bottom to top (import-linter checks it, pyproject.toml): the rules
(``tolerance``, ``noise_floor``); plain types (``divergence``: trajectories,
divergences, the verdict) and the TF1 code run eagerly (``tf1_eager``); the
comparisons' results and the two sides (``lockstep_report``, ``initializers``,
``run``, ``state``) and the reference side (``reference``: a graph or a recorded
trace); the composite ``report``; the comparisons that produce it (``compare``:
free run, ``lockstep``); the check against a trace (``trace_check``); ``check``
(``check_parity``, ``ParityProblem``); the bundled examples (``gallery``).
"""

import lazy_loader as _lazy

# The names are declared once, in __init__.pyi (read by lazy_loader here and by type checkers);
# each is imported on first use.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
