"""An example whose parity_problem returns the wrong type."""


def parity_problem(steps: int = 5) -> dict:
    return {"steps": steps}
