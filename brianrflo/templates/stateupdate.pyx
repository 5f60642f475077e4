{# brianrflo: Brian2's stateupdate (state updaters and run_regularly code) as a fused
   step (brianrflo/fused.py); dense all-to-all synapses loop without index arrays
   (brianrflo/dense.py). #}
{# ITERATE_ALL { _idx } #}
{# USES_VARIABLES { N } #}
{# ALLOWS_SCALAR_WRITE #}
{% extends 'fused_group.pyx' %}

{% block step %}
    # scalar code
    _vectorisation_idx = 1
    {{ scalar_code | autoindent }}

    {% if owner._dense is defined %}
    {{ dense_rows() | autoindent }}
            {{ dense_indices(vector_code, owner.name) | autoindent }}
    {% else %}
    for _idx in range(N):
        _vectorisation_idx = _idx
        {{ vector_code | autoindent }}
    {% endif %}
{% endblock %}
