"""The migrated program, run as ``python program.py ARGS`` would run it, its generated functions' calls routed.

The proofs (:mod:`graphmode.migrate.lockstep_proof`, :mod:`graphmode.migrate.run_values`)
watch or stop the program through the hook; each run starts afresh.
"""

from __future__ import annotations

import ast
import builtins
import os
import re
import sys
import traceback
from collections.abc import Callable, Collection, Mapping

ROUTE_NAME = "__graphmode_probe__"


class Stop(BaseException):
    """Raised through the program by a hook that has seen enough (not an error)."""


class _RouteCalls(ast.NodeTransformer):
    def __init__(self, names: Collection[str]) -> None:
        self.names = set(names)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in self.names:
            route = ast.Name(ROUTE_NAME, ast.Load())
            node.func = ast.Call(route, [ast.Name(node.func.id, ast.Load()), ast.Constant(node.func.id)], [])
        return node


class ProgramRun:
    """The migrated program, compiled so that each call of the ``routed`` functions goes through a hook.

    Each :meth:`execute` runs it afresh, in a new ``__main__`` namespace, as
    ``python program.py ARGS`` would: new variables, a new optimizer, new
    ``tf.function`` s. That is what lets parity build the program's side twice.
    """

    def __init__(self, plan: Mapping, routed: Collection[str]) -> None:
        self.path = plan["program"]
        self.args = list(plan["args"])
        with open(self.path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), self.path)
        self.code = compile(ast.fix_missing_locations(_RouteCalls(routed).visit(tree)), self.path, "exec")

    def execute(self, hook: Callable[[Callable, str, dict], Callable]) -> tuple[dict, str | None]:
        """Runs the program; ``hook(function, name, namespace)`` returns what each routed call calls instead.

        Returns:
            The program's namespace and its error (None when it ended, or a hook raised :class:`Stop`).
        """
        namespace: dict = {"__name__": "__main__", "__file__": self.path, "__builtins__": builtins}
        namespace[ROUTE_NAME] = lambda function, name: hook(function, name, namespace)
        sys.argv = [self.path, *self.args]
        folder = os.path.dirname(self.path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        try:
            exec(self.code, namespace)  # noqa: S102 - the program under test, as python would run it
        except Stop:
            pass
        except SystemExit as exit_request:
            if exit_request.code not in (None, 0):
                return namespace, f"the program exited with {exit_request.code!r}"
        except BaseException:  # noqa: BLE001 - the program's failure is the verdict
            return namespace, traceback.format_exc(limit=-6)
        return namespace, None


def failed(proof: str, error: str, when: str = "") -> dict:
    """The verdict of a proof that could not be carried out.

    Args:
        proof: which proof.
        error: why, a traceback's text included: the summary line is its last line (the exception),
            with the innermost frame's file and line.
        when: where the program had got to (``after 0 training steps``), added to both.
    """
    frames = re.findall(r'File "([^"]+)", line (\d+)', error)
    where = ""
    if frames:
        path, line = frames[-1]
        shown = os.path.relpath(path) if os.path.isabs(path) else path
        where = f" ({shown if not shown.startswith('..') else os.path.basename(path)}:{line}"
        where += f", {when})" if when else ")"
    elif when:
        where = f" ({when})"
    summary = f"FAILED: {error.strip().splitlines()[-1]}{where}"
    return {"proof": proof, "passed": False, "error": error + (f"\n({when})" if when else ""), "summary": summary,
            "report": "", "first_divergence": None, "worst": None}
