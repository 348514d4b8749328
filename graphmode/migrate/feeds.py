"""Feed dicts the script does not write in its run calls: held in a name, returned by a function, updated later.

TF1 scripts key their feeds by placeholder objects, and those objects do not exist
in the TF2 program (each placeholder is a parameter of the functions fed it). So
every dict key and subscript that names a placeholder becomes the parameter's
name as a string (``{x: xs, y: ys}`` -> ``{"x": xs, "y": ys}``, ``feed[keep] = 1.0``
-> ``feed["keep"] = 1.0``), and a run call fed such a dict passes it as keyword
arguments (``sess.run(train, feed_dict=feed)`` -> ``train(**feed)``). Which
placeholders a call fed is not guessed from the text: the recording says what
each call site fed.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping, Sequence

from graphmode.migrate.splice import replace_node

# A TF1 feed may replace the value of any tensor, a computed one too (`a = tf.add(2, 5)`, `feed_dict={a: 15}`).
_FEED_ONLY_PLACEHOLDERS = ("TF1 let a feed replace a computed tensor's value, but TF2 functions take arguments only "
                           "where TF1 had placeholders, so make what is fed a placeholder")


def placeholder_names(capture: Mapping) -> dict[str, list[str]]:
    """TF1 placeholder tensor name -> the plain Python names that held it while the script ran."""
    held: dict[str, list[str]] = {}
    placeholders = capture["placeholders"]
    for path, graph in capture["bindings"].items():
        if "[" not in path and graph.endswith(":0") and graph[:-2] in placeholders:
            held.setdefault(graph, []).append(path)
    return held


def recorded_feeds(site: Mapping | None, capture: Mapping) -> tuple[tuple[str, ...], str]:
    """The Python names of the placeholders a call site fed (as recorded), or ``((), why not)``."""
    if site is None:
        return (), "this call never ran while migrate recorded the script, so what it feeds is unknown"
    held = placeholder_names(capture)
    names = []
    for tensor in site["feeds"]:
        if tensor not in held:
            holders = [path for path, graph in capture["bindings"].items() if graph == tensor]
            shown = f"{holders[0]} ({tensor})" if holders else tensor
            if tensor.removesuffix(":0") in capture["placeholders"]:
                return (), (f"it feeds the placeholder {shown}, which no plain name held when the call ran: migrate "
                            "cannot tell which parameter name the dict's key should become")
            return (), f"it feeds {shown}, which is not a placeholder: {_FEED_ONLY_PLACEHOLDERS}"
        if len(held[tensor]) > 1:
            return (), (f"the placeholder {tensor} it feeds is held by several names ({', '.join(held[tensor])}): "
                        "migrate cannot tell which parameter name the dict's key should become")
        names.append(held[tensor][0])
    return tuple(names), ""


def check_literal_feeds(keys: Sequence[str], site: Mapping | None, capture: Mapping) -> str:
    """Why a dict literal's keys cannot become parameters ('' when each fed a placeholder).

    The recording of the call site says what each key held when the call ran (a name the script
    binds again later holds something else by the end); without one, the script's last bindings say.
    """
    recorded = list(site["feeds"]) if site is not None else []
    if len(recorded) != len(keys):
        recorded = [capture["bindings"].get(key, "?") for key in keys]
    for key, tensor in zip(keys, recorded):
        if tensor.removesuffix(":0") not in capture["placeholders"]:
            return f"it feeds {key} ({tensor}), which is not a placeholder: {_FEED_ONLY_PLACEHOLDERS}"
    return ""


def rebound_names(tree: ast.Module) -> set[str]:
    """Names the script binds other than to a ``tf.placeholder`` (loop variables, parameters, other values).

    A key or subscript spelled with such a name may mean that other value, so it is not rewritten:
    left as it was, it fails loudly in the TF2 program instead of meaning something else.
    """
    placeholder_targets = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func).rsplit(".", 1)[-1] == "placeholder"):
            placeholder_targets.update(id(target) for target in node.targets if isinstance(target, ast.Name))
    names = {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
              and isinstance(node.ctx, (ast.Store, ast.Del)) and id(node) not in placeholder_targets}
    names |= {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    names |= {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return names


def string_keys(text: str, placeholders: Collection[str]) -> str:
    """``text`` with every dict key and subscript that is a placeholder's name written as that name in quotes.

    Example:
        >>> string_keys("feed = {x: xs, y: ys}\\nfeed[k] = 0.5\\n", {"x", "y", "k"})
        'feed = {"x": xs, "y": ys}\\nfeed["k"] = 0.5\\n'
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    keys: list[ast.Name] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys += [key for key in node.keys if isinstance(key, ast.Name) and key.id in placeholders]
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Name) and node.slice.id in placeholders:
            keys.append(node.slice)
    lines = text.splitlines(keepends=True)
    for key in sorted(keys, key=lambda k: (k.lineno, k.col_offset), reverse=True):
        replace_node(lines, key, f'"{key.id}"')
    return "".join(lines)
