/* RFLO training of a rate RNN, written by hand: the compiled limit that the
 * benchmark measures brianrflo's engines against.
 *
 * The same maths, in the same order, as brianrflo.reference.rflo_trial with
 * update='trial' (updates summed over the trial, divided by T, and added to the
 * weights after the trial), applied trial after trial as train()'s engines do:
 *
 *   u      = W h(t-1) + W_in x(t)
 *   h(t)   = h(t-1) + (-h(t-1) + tanh(u)) / tau
 *   d      = 1 - tanh(u)^2
 *   p      = (1 - 1/tau) p + d h(t-1)^T / tau,    q likewise with x(t)
 *   y      = W_out h(t),  eps = mask (y* - y),  fb = B eps
 *   dW_out += (eta1/T) eps h(t)^T,  dW += ((eta2/T) fb) * p,  dW_in += ((eta3/T) fb) * q
 *
 * Every trial starts from h0 with p = q = 0. Written so that it is valid C and C++:
 * the wrapper compiles it with the C++ compiler and the flags Brian2's
 * cpp_standalone projects use, so the comparison is compiler for compiler.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Weight change of one step: element for element the numpy reference's
 * ((eta * scale) * fb[a]) * p[a, b]; the trace update and the accumulation share
 * one pass over the synapses, as p is read nowhere else in between. */
static void trace_and_update(int n, int m, double decay, double tau, const double *d,
                             const double *pre, const double *fb_scaled, double *trace,
                             double *dw)
{
    for (int a = 0; a < n; a++) {
        double *pa = trace + (size_t)a * m, *dwa = dw + (size_t)a * m;
        for (int b = 0; b < m; b++) {
            pa[b] = decay * pa[b] + (d[a] * pre[b]) / tau;
            dwa[b] += fb_scaled[a] * pa[b];
        }
    }
}

/* Train `trials` trials; returns 0, or -1 if the work space cannot be allocated.
 *
 * Arrays are row-major float64: w_rec (N, N) with w_rec[a, b] the synapse b -> a,
 * w_in (N, M), w_out (K, N), b (N, K), h0 (N,), x (trials, T, M), target and mask
 * (trials, T, K); losses (trials,) receives each trial's 1/(2T) sum |eps|^2. The
 * weights are updated in place after every trial. */
int rflo_train(int n, int m, int k, int T, int trials, double tau,
               double eta1, double eta2, double eta3,
               double *w_rec, double *w_in, double *w_out, const double *b,
               const double *h0, const double *x, const double *target,
               const double *mask, double *losses)
{
    size_t nn = (size_t)n * n, nm = (size_t)n * m, kn = (size_t)k * n;
    /* one allocation: h, h_new, d, fb, fb_scaled, eps, then p, q and the three dW */
    size_t size = 5 * (size_t)n + k + 2 * nn + 2 * nm + kn;
    double *work = (double *)malloc((size ? size : 1) * sizeof(double));
    if (!work)
        return -1;
    double *h = work, *h_new = h + n, *d = h_new + n, *fb = d + n, *fb_scaled = fb + n;
    double *eps = fb_scaled + n, *p = eps + k, *dw_rec = p + nn, *q = dw_rec + nn;
    double *dw_in = q + nm, *dw_out = dw_in + nm;
    double scale = 1.0 / T, decay = 1.0 - 1.0 / tau;
    double c_out = eta1 * scale, c_rec = eta2 * scale, c_in = eta3 * scale;

    for (int trial = 0; trial < trials; trial++) {
        memcpy(h, h0, n * sizeof(double));
        memset(p, 0, (2 * nn + 2 * nm + kn) * sizeof(double));
        double loss = 0.0;
        for (int t = 0; t < T; t++) {
            size_t step = (size_t)trial * T + t;
            const double *xt = x + step * m, *yt = target + step * k, *mt = mask + step * k;
            for (int a = 0; a < n; a++) {
                const double *wa = w_rec + (size_t)a * n, *va = w_in + (size_t)a * m;
                double rec = 0.0, in = 0.0;
                for (int j = 0; j < n; j++)
                    rec += wa[j] * h[j];
                for (int j = 0; j < m; j++)
                    in += va[j] * xt[j];
                double phi = tanh(rec + in);
                h_new[a] = h[a] + (-h[a] + phi) / tau;
                d[a] = 1.0 - phi * phi;
            }
            for (int o = 0; o < k; o++) {
                const double *wo = w_out + (size_t)o * n;
                double y = 0.0;
                for (int j = 0; j < n; j++)
                    y += wo[j] * h_new[j];
                eps[o] = mt[o] * (yt[o] - y);
                loss += eps[o] * eps[o];
                double *dwo = dw_out + (size_t)o * n;
                for (int j = 0; j < n; j++)
                    dwo[j] += c_out * (eps[o] * h_new[j]);
            }
            for (int a = 0; a < n; a++) {
                double s = 0.0;
                for (int o = 0; o < k; o++)
                    s += b[(size_t)a * k + o] * eps[o];
                fb[a] = s;
                fb_scaled[a] = c_rec * s;
            }
            trace_and_update(n, n, decay, tau, d, h, fb_scaled, p, dw_rec);
            if (m) {
                for (int a = 0; a < n; a++)
                    fb_scaled[a] = c_in * fb[a];
                trace_and_update(n, m, decay, tau, d, xt, fb_scaled, q, dw_in);
            }
            memcpy(h, h_new, n * sizeof(double));
        }
        for (size_t i = 0; i < nn; i++)
            w_rec[i] += dw_rec[i];
        for (size_t i = 0; i < nm; i++)
            w_in[i] += dw_in[i];
        for (size_t i = 0; i < kn; i++)
            w_out[i] += dw_out[i];
        losses[trial] = loss / (2.0 * T);
    }
    free(work);
    return 0;
}

#ifdef __cplusplus
}
#endif
