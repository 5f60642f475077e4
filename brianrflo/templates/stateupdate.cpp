{# brianrflo: Brian2's stateupdate (run_regularly code) for dense all-to-all synapses
   (brianrflo/dense.py). #}
{# USES_VARIABLES { N } #}
{# ALLOWS_SCALAR_WRITE #}
{% extends 'dense_group.cpp' %}

{% block maincode %}
    {% set R, n_pre, n_post = owner._dense %}
    {{ super() }}
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {{openmp_pragma('parallel-static')}}
    for (int _pre=0; _pre<{{R * n_pre}}; _pre++)
    {
        const int _r = _pre / {{n_pre}};
        const size_t _row = (size_t)_pre * {{n_post}};
        {{ivdep()}}
        for (int _a=0; _a<{{n_post}}; _a++)
        {
            const int32_t _post = _r * {{n_post}} + _a;
            const size_t _idx = _row + _a;
            const size_t _vectorisation_idx = _idx;
            {{dense_indices(vector_code, owner.name)|autoindent}}
        }
    }
{% endblock %}
