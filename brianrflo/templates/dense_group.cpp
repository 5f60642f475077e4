{# brianrflo: what the dense synapse templates share (brianrflo/dense.py). #}
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
{% endblock %}
