{# brianrflo: Brian2's reset as a fused step (brianrflo/fused.py): the same code. #}
{% extends 'fused_group.pyx' %}

{% block step %}
    # scalar code
    _vectorisation_idx = 1
    {{ scalar_code | autoindent }}
    {% set _eventspace = get_array_name(eventspace_variable) %}

    cdef size_t _num_events = {{_eventspace}}[_num{{_eventspace}}-1]
    cdef size_t _index_events
    for _index_events in range(_num_events):
        # vector code
        _idx = {{_eventspace}}[_index_events]
        _vectorisation_idx = _idx
        {{ vector_code | autoindent }}
{% endblock %}
