"""Dense all-to-all synapses: Brian2's code in loops without index arrays.

Our synapses connect every unit of a replica to every unit of the same replica,
presynaptic unit by presynaptic unit (:func:`brianrflo.network.pre_post`):
synapse ``k = (r * n_pre + b) * n_post + a`` joins unit ``b`` to unit ``a`` of
replica ``r``. Brian2's own templates read the pre- and postsynaptic index of
every synapse from an array, which keeps the compiler from vectorising the loop
and costs a load per index. The templates in ``brianrflo/templates`` override
Brian2's ``summed_variable`` and ``stateupdate`` (the latter runs
``run_regularly`` code) for synapses made with :class:`DenseCodeObject` on
cpp_standalone (and the ``.pyx`` ones of :mod:`brianrflo.fused` on cython): the
same generated statements, in nested loops whose counters are the indices.

The statements inside still come from Brian2's code generator translating the
model's equations, so an edited ``phi``, per-unit ``tau`` or Dale's clip run on
this path unchanged; every synapse is visited in the order Brian2 visits it, so
cpp_standalone's results are bit-identical to Brian2's own templates (the fused cython
modules keep that order too, but gcc may contract or vectorise them differently from
Brian2's: equal to float64 rounding, ``tests/test_fused.py``).
"""

from __future__ import annotations

import re
from typing import cast

from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

# DenseCodeObject stays out of __all__: autodoc would read its templater, whose
# attribute lookup is a template lookup.
__all__ = ["dense_indices", "ivdep", "mark_dense"]


def dense_indices(code: str | list[str], owner_name: str) -> str | list[str]:
    """``code`` (a string or lines) with the synapses' index-array reads replaced
    by the loop counters ``_pre`` and ``_post`` that the dense templates set."""
    if isinstance(code, list):
        return [cast(str, dense_indices(line, owner_name)) for line in code]
    for which, counter in (("pre", "_pre"), ("post", "_post")):
        # cpp_standalone reads `_ptr_array_...`, cython `_array_...`
        pattern = rf"\b(?:_ptr)?_array_{re.escape(owner_name)}__synaptic_{which}\[_idx\]"
        code = re.sub(pattern, counter, code)
    return code


def ivdep() -> str:
    """A pragma that lets the compiler vectorise a loop over one row of synapses.

    Every synapse of the row is visited once and writes only its own values (or
    one postsynaptic sum each), so no iteration depends on another; the compiler
    cannot prove this through the pointers Brian2 declares.
    """
    return ("#if defined(__clang__)\n#pragma clang loop vectorize(assume_safety)\n"
            "#elif defined(__GNUC__)\n#pragma GCC ivdep\n#endif")


#: Brian2's cpp_standalone templates, overridden by name by ``brianrflo/templates``.
TEMPLATER = CPPStandaloneCodeObject.templater.derive(
    "brianrflo", templates_dir="templates",
    env_globals={"dense_indices": dense_indices, "ivdep": ivdep},
)


class DenseCodeObject(CPPStandaloneCodeObject):
    """cpp_standalone code objects whose synapse loops are dense (see the module)."""

    templater = TEMPLATER


def mark_dense(synapses, replicas: int, n_pre: int, n_post: int) -> None:
    """Record the dense layout of ``synapses`` for the templates (see the module)."""
    synapses._dense = (replicas, n_pre, n_post)
