"""Other learning rules from the sources, on the same networks (:class:`~brianrflo.Weights`)
and tasks (:mod:`brianrflo.tasks`) as RFLO.

============================  =========================================  =======  ======
rule                          function                                   local    online
============================  =========================================  =======  ======
node perturbation, REINFORCE  :func:`train_node_perturbation` (Brian2)   yes      yes
node perturbation, Miconi     same, ``variant='miconi'``                 yes      yes
FORCE (RLS readout)           :func:`train_force` (numpy)                no       yes
echo-state readout            :func:`train_echo_state` (numpy)           no       no
one-step programming          :func:`program` (numpy)                    no       no
============================  =========================================  =======  ======
"""

from .common import RuleResult, evaluate_loop, evaluate_open, loop_forward
from .perturbation import PerturbationNetwork, train_node_perturbation
from .perturbation_reference import perturbation_trial

__all__ = ["PerturbationNetwork", "RuleResult", "evaluate_loop", "evaluate_open",
           "loop_forward", "perturbation_trial", "train_node_perturbation"]
