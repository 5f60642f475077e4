"""Dense all-to-all synapses on cpp_standalone: index-free loops, results of Brian2's own."""

import os

import numpy as np
import pytest

from brianrflo.dense import dense_indices
from brianrflo.network import BrianNetwork
from brianrflo.weights import Weights
from helpers import K, M, N, T, random_block

pytestmark = pytest.mark.engines


def test_dense_indices_replace_only_the_owners_index_reads():
    code = ["const int32_t _presynaptic_idx = _ptr_array_rec__synaptic_pre[_idx];",
            "const int32_t _postsynaptic_idx = _ptr_array_rec__synaptic_post[_idx];",
            "const int32_t _other = _ptr_array_out__synaptic_pre[_idx];",
            "const double w = _ptr_array_rec__synaptic_pre[_j];"]
    got = dense_indices(code, "rec")
    assert got == ["const int32_t _presynaptic_idx = _pre;",
                   "const int32_t _postsynaptic_idx = _post;",
                   code[2], code[3]]
    assert dense_indices(code[0], "rec") == got[0]


@pytest.mark.standalone
def test_standalone_synapse_loops_read_no_index_array_and_keep_brian2s_results():
    # Brian2's numpy target runs Brian2's own templates: the dense standalone
    # code must give the same losses and weights for replicas of several shapes.
    weights = [Weights.init(N, M, K, seed=s) for s in (4, 5)]
    eta = [[0.05, 0.02, 0.01], [0.1, 0.05, 0.0]]
    blocks = [[random_block(20 + r + 2 * b, 2) for r in range(2)] for b in range(2)]
    nets, losses = {}, {}
    for target in ("numpy", "cpp_standalone"):  # a standalone build takes Brian2's device
        nets[target] = net = BrianNetwork(weights, T, block_trials=2, eta=eta, target=target)
        runs, files = [], []
        for bl in blocks:
            runs.append(net.run_block(bl))
            if net.sim.standalone:  # the project's argument files after each block
                files.append(set(os.listdir(os.path.join(net.sim.directory, "static_arrays"))))
        losses[target] = np.concatenate(runs, axis=1)
    np.testing.assert_allclose(losses["cpp_standalone"], losses["numpy"], rtol=0, atol=1e-12)
    assert files[0] == files[1]  # a block's arguments overwrite the last block's files
    for got, want in zip(nets["cpp_standalone"].get_weights(), nets["numpy"].get_weights(),
                         strict=True):
        for name in ("w_in", "w_rec", "w_out"):
            np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=0,
                                       atol=1e-12, err_msg=name)
    # the run time is read once after the loop, not (as Brian2's network.cpp does) per step
    with open(os.path.join(nets["cpp_standalone"].directory, "network.cpp")) as f:
        after_step = f.read().split("clock = next_clocks();\n")[-1]
    assert after_step.split("Network::_globally_running = false;")[0].strip().startswith("}")
    code_dir = os.path.join(nets["cpp_standalone"].directory, "code_objects")
    loops = ["rec_update", "inp_update", "out_update", "rec_summed_variable_u_rec_post",
             "inp_summed_variable_u_in_post", "out_summed_variable_y_post",
             "fb_summed_variable_fb_post"]
    for loop in loops:
        with open(os.path.join(code_dir, f"{loop}_codeobject.cpp")) as f:
            code = f.read()
        assert "__synaptic_pre[_idx]" not in code and "__synaptic_post[_idx]" not in code, loop
        assert "#pragma GCC ivdep" in code, loop
