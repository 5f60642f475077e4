{# brianrflo: Brian2's summed_variable for dense all-to-all synapses (brianrflo/dense.py). #}
{# USES_VARIABLES { N } #}
{% extends 'dense_group.cpp' %}

{% block maincode %}
    {% set _target_var_array = get_array_name(_target_var) %}
    {% set R, n_pre, n_post = owner._dense %}
    {{ super() }}
    const int _target_size = {{constant_or_scalar(_target_size_name, variables[_target_size_name])}};
    for (int _target_idx=0; _target_idx<_target_size; _target_idx++)
    {
        {{_target_var_array}}[_target_idx + {{_target_start}}] = 0;
    }

    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    for (int _r=0; _r<{{R}}; _r++)
    {
        double* __restrict _sum = {{_target_var_array}} + {{_target_start}} + _r * {{n_post}};
        for (int _b=0; _b<{{n_pre}}; _b++)
        {
            const int32_t _pre = _r * {{n_pre}} + _b;
            const size_t _row = (size_t)_pre * {{n_post}};
            {{ivdep()}}
            for (int _a=0; _a<{{n_post}}; _a++)
            {
                const int32_t _post = _r * {{n_post}} + _a;
                const size_t _idx = _row + _a;
                const size_t _vectorisation_idx = _idx;
                {{dense_indices(vector_code, owner.name)|autoindent}}
                _sum[_a] += _synaptic_var;
            }
        }
    }
{% endblock %}
