{# brianrflo: Brian2's cython code objects as steps of a fused run (brianrflo/fused.py).
   main() does what Brian2's does; load() and step_function() let one compiled loop
   run many steps of many code objects without returning to Python. #}
{% import 'common_group.pyx' as _common %}
{% macro run() %}
{{ _common.cython_directives() }}
{{ _common.imports() }}
from cpython.pycapsule cimport PyCapsule_New

{% set parts = fused_namespace(load_namespace, self.step()) %}
# Vectorised rows must round as scalar ones do (see brianrflo/templates/dense_group.cpp).
cdef extern from *:
    """
    #pragma GCC optimize("no-associative-math")
    """
    {{ parts.typedefs | autoindent }}

# support code
{{ support_code_lines | autoindent }}

# What main() loads from the namespace, kept for _step()
{{ parts.globals }}

{% if owner._dense is defined %}
cdef int _gdense_R, _gdense_pre, _gdense_post
{% endif %}

def load(_namespace):
    {{ parts.load | autoindent }}
    {% if owner._dense is defined %}
    global _gdense_R, _gdense_pre, _gdense_post
    _gdense_R, _gdense_pre, _gdense_post = _namespace["_owner"]._dense
    {% endif %}

cdef int _body({{ parts.params }}) except -1:
    cdef size_t _idx
    cdef size_t _vectorisation_idx
    {{ parts.temporaries | autoindent }}
    {% block step %}
    {% endblock %}
    return 0

cdef int _step() except -1:
    return _body({{ parts.args }})

def main(_namespace):
    load(_namespace)
    _step()

def step_function():
    """The compiled step as a capsule, for brianrflo.fused's loop."""
    return PyCapsule_New(<void *> _step, b"brianrflo_step", NULL)
{% endmacro %}

{# Code after a run (the threshold's), as Brian2's common_group.pyx has it. #}
{% macro after_run() %}
{{ _common.cython_directives() }}
{{ _common.imports() }}

# support code
{{ support_code_lines | autoindent }}

def main(_namespace):
    {{ load_namespace | autoindent }}
    {% block after_code %}
    # EMPTY_CODE_BLOCK  -- overwrite in child template
    {% endblock %}
{% endmacro %}
