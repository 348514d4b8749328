"""Where the Model goes: after the last variable statement, or before a kept statement that reads a variable."""

from __future__ import annotations

import ast
import shutil
import textwrap
from pathlib import Path

from graphmode.migrate.forbidden import forbidden_constructs
from graphmode.migrate.model_place import place_model
from graphmode.migrate.statements import Role, Unit

SCRIPTS = Path(__file__).resolve().parent / "scripts"

_MODEL = textwrap.dedent('''\
    class Model(tf.Module):
        def __init__(self):
            super().__init__()
            self.w1 = tf.Variable(init([size, hidden]), name='Variable')
            self.w2 = tf.Variable(init([hidden, 1]), name='Variable_1')


    model = Model()
    w1, w2 = model.w1, model.w2
''')


def _units(source: str, variables: set[str]) -> list[Unit]:
    """The script's statements, those assigning one of ``variables`` made variable statements."""
    units = []
    for node in ast.parse(textwrap.dedent(source)).body:
        unit = Unit(node, 0, ())
        if isinstance(node, ast.Assign) and {t.id for t in node.targets if isinstance(t, ast.Name)} & variables:
            unit.role = Role.VARIABLE
        units.append(unit)
    return units


def _place(source: str):
    units = _units(source, {"w1", "w2"})
    last = max(i for i, unit in enumerate(units) if unit.role is Role.VARIABLE)
    return units, place_model(units, _MODEL, last, lambda unit: unit.role is Role.VARIABLE)


def test_the_model_follows_the_last_variable_statement_when_nothing_reads_a_variable_before():
    units, place = _place('''\
        size, hidden = 4, 3
        w1 = tf.Variable(init([size, hidden]))
        def layer(x):
            return x @ w1
        w2 = tf.Variable(init([hidden, 1]))
        print(w1, w2)
    ''')
    assert place.after == 3 and place.blocker is None  # the def reads w1 only when called
    assert not any(place.early_read(i, unit) for i, unit in enumerate(units))


def test_a_kept_statement_reading_a_variable_between_them_gets_the_model_before_it():
    units, place = _place('''\
        size, hidden = 4, 3
        w1 = tf.Variable(init([size, hidden]))
        theta_1 = [w1]
        w2 = tf.Variable(init([hidden, 1]))
    ''')
    assert place.after == 1 and place.blocker is None
    assert place.made_at == {"w1": (1, 2), "w2": (3, 4)}


def test_a_name_bound_before_its_variable_statement_is_not_an_early_read():
    units, place = _place('''\
        size, hidden, w1 = 4, 3, None
        print(w1)
        w1 = tf.Variable(init([size, hidden]))
        w2 = tf.Variable(init([hidden, 1]))
    ''')
    assert place.after == 3 and place.blocker is None


def test_when_the_initializers_read_a_name_bound_later_the_early_reader_is_refused_naming_it():
    units, place = _place('''\
        size = 4
        w1 = tf.Variable(init([size, 3]))
        theta_1 = [w1]
        hidden = 3
        w2 = tf.Variable(init([hidden, 1]))
        theta_2 = [w2]
    ''')
    assert place.after == 4 and place.blocker == ("hidden", 4)
    reasons = [place.early_read(i, unit) for i, unit in enumerate(units)]
    assert reasons[2] == ("reads 'w1', a variable (line 2) that TF2 makes in the Model, which can come only after "
                          "line 4 (its initializers read 'hidden', bound there): no such name exists here yet")
    assert reasons[:2] + reasons[3:] == [None] * 5


def test_variables_made_between_kept_statements_that_read_them_migrate_and_are_proven(tmp_path):
    from graphmode.migrate.pipeline import migrate_script

    shutil.copy(SCRIPTS / "spread_variables.py", tmp_path / "spread_variables.py")
    migration = migrate_script(str(tmp_path / "spread_variables.py"), steps=10)
    assert migration.not_migrated == [] and migration.proven, (migration.not_migrated, migration.verdict)
    source = Path(migration.output).read_text()
    assert forbidden_constructs(source) == []
    body = [ast.unparse(node) for node in ast.parse(source).body]
    model = body.index("model = Model()")
    # The Model is made before the first statement that reads its variables, after what its initializers read.
    assert body.index("theta_E = [E_W, E_b]") > model > body.index("code_size = 3")
    assert any(line.startswith("def scaled_init(") for line in body[:model])
