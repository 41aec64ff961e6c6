"""EPANET .inp input files: :func:`read_inp` and :func:`write_inp`.

The work is split by job: :mod:`twin.io.inp_sections` (lexing), :mod:`twin.io.inp_settings`
(model-wide settings), :mod:`twin.io.inp_elements` (network elements),
:mod:`twin.io.inp_controls` (controls and rules), :mod:`twin.io.inp_read` and
:mod:`twin.io.inp_write`. Unit conversion lives in :mod:`twin.units`; the settings keys are
documented in ``docs/water-settings.md``.
"""

from twin.io.inp_read import read_inp
from twin.io.inp_write import write_inp

__all__ = ["read_inp", "write_inp"]
