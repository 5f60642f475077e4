{# brianrflo: Brian2's stateupdate (run_regularly code) for dense all-to-all synapses
   (brianrflo/dense.py). #}
{# USES_VARIABLES { N } #}
{# ALLOWS_SCALAR_WRITE #}
{% extends 'common_group.cpp' %}

{# Vectorised rows must round as scalar ones do: -ffast-math would otherwise let the
   compiler reassociate loop-invariant factors differently in different loops, and the
   readout's update and its symmetric feedback copy (one synapse each) would drift apart. #}
{% block extra_headers %}
#pragma GCC optimize("no-associative-math")
{% endblock %}

{% block maincode %}
    {% set R, n_pre, n_post = owner._dense %}
    //// MAIN CODE ////////////
    if ({{constant_or_scalar('N', variables['N'])}} != {{R * n_pre * n_post}}) {
        std::cerr << "brianrflo: synapses {{owner.name}} are not dense all-to-all" << std::endl;
        exit(3);
    }
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
