"""Cost of a summed variable's scatter-add in the two synapse orders, in plain C++.

Brian2 computes ``u_rec_post = w_rec * h_pre : 1 (summed)`` as the loop
``u[post[k]] += w[k] * h[pre[k]]`` over synapses ``k``. This times that loop alone
for synapses stored postsynaptic unit by unit (``W.ravel()`` order, where the same
target is written N times in a row) and presynaptic unit by unit (the order of
:func:`brianrflo.network.pre_post`), at each N given:

    python benchmarks/scatter_order.py 30 100 300

It needs a C++ compiler (``$CXX``, default ``c++``), as Brian2 does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile

SOURCE = r"""
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
int main(int argc, char **argv) {
  const int N = atoi(argv[1]), S = N * N, reps = atoi(argv[2]);
  std::vector<int> pre[2], post[2];
  for (int o = 0; o < 2; o++) { pre[o].resize(S); post[o].resize(S); }
  for (int a = 0; a < N; a++)
    for (int b = 0; b < N; b++) {
      post[0][a * N + b] = a; pre[0][a * N + b] = b;  // post-major
      post[1][b * N + a] = a; pre[1][b * N + a] = b;  // pre-major
    }
  std::vector<double> w(S, 0.01), h(N, 0.5), u(N);
  for (int o = 0; o < 2; o++) {
    const int *P = pre[o].data(), *Q = post[o].data();
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; r++) {
      for (int i = 0; i < N; i++) u[i] = 0;
      for (int k = 0; k < S; k++) u[Q[k]] += w[k] * h[P[k]];
      h[r % N] += u[0] * 1e-9;  // keeps the compiler from hoisting the loop
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("%d %s %.3f\n", N, o ? "pre-major" : "post-major", s / reps / S * 1e9);
  }
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="*", default=[30, 100, 300])
    parser.add_argument("--synapse-steps", type=float, default=1e9,
                        help="synapse updates timed per size and order")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "scatter.cpp"), os.path.join(tmp, "scatter")
        with open(src, "w") as f:
            f.write(SOURCE)
        # Brian2's default optimisation flags for generated C++.
        subprocess.run([os.environ.get("CXX", "c++"), "-O3", "-ffast-math", "-fno-finite-math-only",
                        "-march=native",
                        src, "-o", exe], check=True)
        print(f"{'N':>5}  {'order':<11}{'ns/synapse':>11}")
        for n in args.sizes:
            reps = max(1, int(args.synapse_steps / n**2))
            out = subprocess.run([exe, str(n), str(reps)], capture_output=True, text=True,
                                 check=True).stdout
            for line in out.splitlines():
                size, order, ns = line.split()
                print(f"{size:>5}  {order:<11}{float(ns):>11.2f}", flush=True)


if __name__ == "__main__":
    main()
