{# brianrflo: Brian2's summed_variable as a fused step (brianrflo/fused.py); dense
   all-to-all synapses loop without index arrays (brianrflo/dense.py). #}
{# USES_VARIABLES { N } #}
{% extends 'fused_group.pyx' %}

{% block step %}
    {% set _target_var_array = get_array_name(_target_var) %}
    {% set _index_array = get_array_name(_index_var) %}
    cdef int _target_idx

    # Set all the target variable values to zero
    for _target_idx in range({{ _target_size_name }}):
        {{ _target_var_array }}[_target_idx + {{ _target_start }}] = 0

    # scalar code
    _vectorisation_idx = 1
    {{ scalar_code | autoindent }}

    {% if owner._dense is defined %}
    {{ dense_rows() | autoindent }}
            {{ dense_indices(vector_code, owner.name) | autoindent }}
            {{ _target_var_array }}[{{ dense_indices(_index_array ~ '[_idx]', owner.name) }}] += _synaptic_var
    {% else %}
    for _idx in range({{ N }}):
        _vectorisation_idx = _idx
        {{ vector_code | autoindent }}
        {{ _target_var_array }}[{{ _index_array }}[_idx]] += _synaptic_var
    {% endif %}
{% endblock %}
