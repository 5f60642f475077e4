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
from .echo_state import collect_teacher_forced, ridge_readout, train_echo_state
from .force import force_trial, train_force
from .perturbation import PerturbationNetwork, train_node_perturbation
from .perturbation_reference import perturbation_trial
from .programming import collect_response, program, solve_program

__all__ = ["PerturbationNetwork", "RuleResult", "collect_response", "collect_teacher_forced",
           "evaluate_loop", "evaluate_open", "force_trial", "loop_forward", "perturbation_trial",
           "program", "ridge_readout", "solve_program", "train_echo_state", "train_force",
           "train_node_perturbation"]
