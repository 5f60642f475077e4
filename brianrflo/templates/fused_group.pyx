{# brianrflo: Brian2's cython code objects as steps of a fused run (brianrflo/fused.py).
   main() does what Brian2's does; load() and step_function() let one compiled loop
   run many steps of many code objects without returning to Python. The names below
   own_marker end in own_suffix, made unique when one module holds many code objects
   (fused._compile_pending); the code above it is shared. #}
{% import 'common_group.pyx' as _common %}
{% macro run() %}
{% set s = own_suffix %}
{{ _common.cython_directives() }}
{{ _common.imports() }}
from cpython.pycapsule cimport PyCapsule_New

{% set parts = fused_namespace(load_namespace, self.step()) %}
# Vectorised rows must round as scalar ones do (see brianrflo/templates/dense_group.cpp).
cdef extern from *:
    """
    #pragma GCC optimize("no-associative-math")
    """
{{ parts.typedefs }}

# support code
{{ support_code_lines | autoindent }}

{{ own_marker }}
# What _step() reads, as main() loads it from the namespace
{{ parts.globals }}

{% if owner._dense is defined %}
cdef int _gdense_R{{s}}, _gdense_pre{{s}}, _gdense_post{{s}}
{% endif %}

def load{{s}}(_namespace):
    {{ parts.load | autoindent }}
    {% if owner._dense is defined %}
    global _gdense_R{{s}}, _gdense_pre{{s}}, _gdense_post{{s}}
    _gdense_R{{s}}, _gdense_pre{{s}}, _gdense_post{{s}} = _namespace["_owner"]._dense
    {% endif %}

cdef int _body{{s}}({{ parts.params }}) except -1:
    cdef size_t _idx
    cdef size_t _vectorisation_idx
    {{ parts.temporaries | autoindent }}
    {% if owner._dense is defined %}
    cdef int _n_R = _gdense_R{{s}}, _n_pre = _gdense_pre{{s}}, _n_post = _gdense_post{{s}}
    {% endif %}
    {% block step %}
    {% endblock %}
    return 0

cdef int _step{{s}}() except -1:
    return _body{{s}}({{ parts.args }})

def main{{s}}(_namespace):
    load{{s}}(_namespace)
    _step{{s}}()

def step_function{{s}}():
    """The compiled step as a capsule, for brianrflo.fused's loop."""
    return PyCapsule_New(<void *> _step{{s}}, b"brianrflo_step", NULL)
{% endmacro %}

{# Code after a run (the threshold's), as Brian2's common_group.pyx has it. #}
{% macro after_run() %}
{{ _common.cython_directives() }}
{{ _common.imports() }}

# support code
{{ support_code_lines | autoindent }}

{{ own_marker }}
def main{{ own_suffix }}(_namespace):
    {{ loads_for(load_namespace, self.after_code()) | autoindent }}
    {% block after_code %}
    # EMPTY_CODE_BLOCK  -- overwrite in child template
    {% endblock %}
{% endmacro %}
