"""One tree of errors for twin.

Every class subclasses :class:`TwinError` and the matching builtin, so callers may catch
either ``twin.errors.InputFileError`` or plain ``ValueError``. Messages name the file, the
line, the field or the asset, and say how to fix the fault.
"""

from __future__ import annotations

from os import PathLike


class TwinError(Exception):
    """Base class of every error raised by twin."""


class InputFileError(TwinError, ValueError):
    """A file could not be read: it names the file, the line (1-based) and the field.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    path : str or PathLike, optional
        The file that holds the fault.
    line : int, optional
        1-based line number of the fault.
    field : str, optional
        The section, column or key that holds the fault.

    Examples
    --------
    >>> err = InputFileError("diameter must be > 0, got -3", path="net.inp", line=12, field="PIPES")
    >>> str(err)
    'net.inp:12: [PIPES] diameter must be > 0, got -3'
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = message
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "") + ": "
        elif line is not None:
            where = f"line {line}: "
        if field:
            where += f"[{field}] "
        super().__init__(where + message)


class UnsupportedFileError(InputFileError):
    """A file is valid in its own tool but cannot be read faithfully as data.

    Example: a MATPOWER case that computes its values in MATLAB code (case33bw).
    """


class SchemaError(TwinError, ValueError):
    """A table does not fit its declared schema (missing column, wrong type, bad value)."""


class NetworkError(TwinError, ValueError):
    """A network is inconsistent: a link to an unknown node, a duplicate id, a bad coupling."""


class AssetNotFoundError(TwinError, KeyError):
    """An asset id is not in the network."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ScenarioError(TwinError, ValueError):
    """A scenario specification is invalid (build time)."""


class SimulationError(TwinError, RuntimeError):
    """A simulation failed while running."""


class ConvergenceError(SimulationError):
    """A solver did not converge; carries the iteration count and the residual."""

    def __init__(self, message: str, *, iterations: int | None = None, residual: float | None = None) -> None:
        self.iterations = iterations
        self.residual = residual
        super().__init__(message)
