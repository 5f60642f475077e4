"""Any NeuroGym environment as a brianrflo task.

NeuroGym (https://neurogym.github.io) describes a trial as periods on a time grid of
``env.dt`` milliseconds, with observations ``env.ob`` ``(L, M)`` and a ground truth
``env.gt`` (the correct action, or the correct value for continuous actions) at each
of the trial's ``L`` steps. :class:`NeuroGym` turns one such trial into one row of a
:class:`~brianrflo.tasks.Block`:

- inputs ``x`` are ``env.ob``;
- targets are ``env.gt``, one-hot over the actions for a discrete action space, the
  value itself for a continuous (``Box``) one;
- the mask, as in PsychRNN, counts the response periods (by default those named
  ``decision``, ``production``, ``response`` or ``reach``; failing those, ``test...``),
  and with ``fixation=True`` every step of the trial;
- trials are padded with zeros (mask 0) to a fixed ``T``, so that the compiled
  network keeps one shape for every block.

One network step is one environment step: the environment's ``dt`` is our step, and
``tau`` (in steps) is ``tau * env.dt`` milliseconds.

``neurogym`` is an optional dependency: ``pip install 'brianrflo[neurogym]'``.
"""

from __future__ import annotations

import difflib
import json
import numbers
import warnings

import numpy as np

from brianrflo.validation import check_int

from .base import Block, Task

__all__ = ["NeuroGym", "RESPONSE_PERIODS"]

#: Names of the periods where the response counts, tried in order: the first tier that
#: names a period of the trial is used (``test`` periods are the response of the
#: match-to-category tasks, but only a stimulus where a ``decision`` period follows).
RESPONSE_PERIODS = (("decision", "production", "response", "reach"), ("test",))
#: Trials drawn to measure the default ``T`` (the longest of them).
PROBE_TRIALS = 1000
#: Redraws of one trial longer than ``T`` before giving up.
MAX_REDRAWS = 1000
_INSTALL = "pip install 'brianrflo[neurogym]'"


def _make(env_id: str, env_kwargs: dict):
    """``neurogym.make(env_id, **env_kwargs)``, unwrapped, or a one-line error."""
    try:
        import neurogym
    except ImportError as err:
        raise ImportError(f"NeuroGym tasks need the neurogym package ({err}): {_INSTALL}"
                          ) from None
    with warnings.catch_warnings():  # gymnasium's notes on the envs' metadata
        warnings.simplefilter("ignore")
        try:
            env = neurogym.make(env_id, **env_kwargs)
        except Exception as err:  # gymnasium's NameNotFound, a bad keyword, ...
            known = _known_envs()
            if env_id not in known:
                close = difflib.get_close_matches(env_id, known, n=3)
                hint = f"did you mean {', '.join(close)}?" if close else "see neurogym.all_envs()"
                raise ValueError(f"unknown NeuroGym environment {env_id!r}; {hint}") from None
            raise ValueError(f"cannot make the NeuroGym environment {env_id!r} with "
                             f"{env_kwargs or 'no arguments'}: {err}") from None
    # gymnasium's wrappers (order enforcing, checks) do not touch trials; NeuroGym's
    # own TrialWrappers are kept when an environment object is passed instead.
    return env.unwrapped


def _known_envs() -> list[str]:
    """The ids neurogym registers (empty if this version does not list them)."""
    try:
        from neurogym.envs.registration import all_envs

        return list(all_envs(psychopy=False, contrib=True, collections=True))
    except Exception:  # another neurogym version: no hint, the error stays
        return []


class NeuroGym(Task):
    """A NeuroGym environment's trials as blocks of equal length ``T``.

    Parameters
    ----------
    env
        A NeuroGym environment id (``'ReadySetGo-v0'``), made with ``neurogym.make``,
        or an environment object with NeuroGym's trial interface: ``new_trial()``,
        ``ob``, ``gt``, ``start_ind``/``end_ind`` (period name -> step), ``seed(s)``,
        ``observation_space``, ``action_space`` and ``dt``.
    T
        Steps per trial after padding. Default: the longest of 1000 trials drawn with
        seed 0. A trial longer than ``T`` is redrawn, so ``T`` caps the trial length.
    periods
        Names of the periods where the response counts; default
        :data:`RESPONSE_PERIODS`.
    fixation
        Count every step of the trial, not only the response periods (PsychRNN's
        fixation mask): the network must also hold the fixation output.
    **env_kwargs
        Passed to ``neurogym.make`` (e.g. ``dt=20``, ``timing={...}``).

    Notes
    -----
    Each block is reproducible from the generator passed to :meth:`block`: the
    environment is seeded from one draw of it before the block's trials. Environments
    whose trials depend on more than their random state (a count of trials, the last
    trial) are reproducible only up to that state.
    """

    def __init__(self, env, /, *, T: int | None = None, periods=None, fixation: bool = False,
                 **env_kwargs):
        if isinstance(env, str):
            self.env_id = env
            self.env = _make(env, env_kwargs)
        else:
            if env_kwargs:
                raise ValueError("env_kwargs apply to an environment id, not to the "
                                 f"environment object {type(env).__name__} given")
            self.env_id = type(getattr(env, "unwrapped", env)).__name__
            self.env = env
        self.env_kwargs = env_kwargs
        self._core = getattr(self.env, "unwrapped", self.env)  # holds ob, gt, periods
        self.dt = self._core.dt
        self.n_in, self.n_out, self.discrete = self._spaces()
        if periods is not None:
            periods = [periods] if isinstance(periods, str) else list(periods)
            if not periods or not all(isinstance(p, str) for p in periods):
                raise ValueError(f"periods must name periods of the environment, got {periods!r}")
        self.periods = periods
        if not isinstance(fixation, bool):
            raise ValueError(f"fixation must be True or False, got {fixation!r}")
        self.fixation = fixation
        self._core.seed(0)  # one trial checks the data and the periods now, not mid-run
        self._trial()
        self._response()
        self.T = self._measure() if T is None else check_int("T", T, 1)

    def _spaces(self) -> tuple[int, int, bool]:
        """``(n_in, n_out, discrete actions?)`` from the environment's spaces."""
        obs, act = self._core.observation_space, self._core.action_space
        if len(getattr(obs, "shape", ()) or ()) != 1:
            raise ValueError(f"NeuroGym environment {self.env_id!r}: observations must be "
                             f"vectors, got the space {obs}")
        if hasattr(act, "n"):
            return int(obs.shape[0]), int(act.n), True
        if len(getattr(act, "shape", ()) or ()) == 1:
            return int(obs.shape[0]), int(act.shape[0]), False
        raise ValueError(f"NeuroGym environment {self.env_id!r}: actions must be discrete or "
                         f"vectors, got the space {act}")

    def _trial(self) -> tuple[np.ndarray, np.ndarray, dict]:
        """A new trial: ``(ob (L, M), gt (L, ...), trial info)``."""
        info = self.env.new_trial()
        ob, gt = getattr(self._core, "ob", None), getattr(self._core, "gt", None)
        if ob is None or gt is None:
            raise ValueError(f"NeuroGym environment {self.env_id!r} sets no ob and gt in "
                             "new_trial(): it has no supervised trials to learn")
        ob, gt = np.asarray(ob, dtype=np.float64), np.asarray(gt)
        if ob.ndim != 2 or len(gt) != len(ob):
            raise ValueError(f"NeuroGym environment {self.env_id!r}: ob {ob.shape} and gt "
                             f"{gt.shape} must share the trial's steps")
        return ob, gt, info if isinstance(info, dict) else {}

    def _measure(self) -> int:
        """The longest of :data:`PROBE_TRIALS` trials drawn with seed 0."""
        self._core.seed(0)
        return max(len(self._trial()[0]) for _ in range(PROBE_TRIALS))

    def _response(self) -> list[tuple[int, int]]:
        """``[(start, end), ...]`` steps of the current trial's response periods."""
        start, end = self._core.start_ind, self._core.end_ind
        if self.periods is not None:
            chosen = [p for p in self.periods if p in start]
        else:
            chosen = []
            for tier in RESPONSE_PERIODS:
                chosen = [p for p in start if p.rstrip("0123456789") in tier]
                if chosen:
                    break
        if not chosen:
            wanted = self.periods or [n for tier in RESPONSE_PERIODS for n in tier]
            raise ValueError(f"NeuroGym environment {self.env_id!r}: a trial has none of the "
                             f"periods {wanted} (its periods: {list(start)}); pass periods=[...]"
                             " naming those where the response counts")
        return sorted((int(start[p]), int(end[p])) for p in chosen)

    def block(self, n: int, rng: np.random.Generator) -> Block:
        """``n`` trials; the environment is seeded from one draw of ``rng``."""
        n = check_int("n", n, 1)
        self._core.seed(int(rng.integers(2**31)))
        x = np.zeros((n, self.T, self.n_in))
        target = np.zeros((n, self.T, self.n_out))
        mask = np.zeros((n, self.T, self.n_out))
        facts: list[dict] = []
        for k in range(n):
            ob, gt, info = self._draw()
            length = len(ob)
            x[k, :length] = ob
            if self.discrete:
                target[k, np.arange(length), gt.astype(int)] = 1.0
            else:
                target[k, :length] = gt.reshape(length, self.n_out)
            spans = self._response()
            for a, b in ([(0, length)] if self.fixation else spans):
                mask[k, a:min(b, length)] = 1.0
            facts.append({**_scalars(info), "length": length,
                          "respond_from": spans[0][0], "respond_to": min(spans[-1][1], length)})
        shared = set.intersection(*(set(f) for f in facts))
        info = {key: np.array([f[key] for f in facts]) for key in sorted(shared)}
        return Block(x=x, target=target, mask=mask, info=info)

    def _draw(self) -> tuple[np.ndarray, np.ndarray, dict]:
        """A trial of at most ``T`` steps (longer ones are redrawn)."""
        for _ in range(MAX_REDRAWS):
            ob, gt, info = self._trial()
            if len(ob) <= self.T:
                return ob, gt, info
        raise ValueError(f"NeuroGym environment {self.env_id!r}: {MAX_REDRAWS} trials in a "
                         f"row were longer than T={self.T} steps; pass a larger T")

    def accuracy(self, y: np.ndarray, block: Block) -> np.ndarray:
        """Whether each trial's choice is right, for tasks with one discrete choice.

        The choice is the output's argmax, averaged over the response periods (from
        the first one's start to the last one's end); the right answer is the target's
        argmax over the same steps.

        Parameters
        ----------
        y
            Outputs ``(n, T, n_out)`` on ``block``'s trials.

        Returns
        -------
        ndarray of bool, shape (n,)
        """
        if not self.discrete:
            raise ValueError(f"accuracy needs discrete actions; {self.env_id!r} has "
                             "continuous ones")
        y = np.asarray(y).reshape(block.target.shape)
        right = np.empty(block.n_trials, dtype=bool)
        for k in range(block.n_trials):
            span = slice(int(block.info["respond_from"][k]), int(block.info["respond_to"][k]))
            right[k] = (np.argmax(y[k, span].mean(axis=0))
                        == np.argmax(block.target[k, span].mean(axis=0)))
        return right

    def settings(self) -> dict:
        kwargs = json.loads(json.dumps(self.env_kwargs, default=lambda v: type(v).__name__))
        return {"task": "neurogym", "env": self.env_id, "env_kwargs": kwargs, "T": self.T,
                "periods": self.periods, "fixation": self.fixation, "dt": float(self.dt)}


def _scalars(info: dict) -> dict:
    """The numbers among a trial's facts (NeuroGym's ``env.trial``)."""
    return {key: value for key, value in info.items()
            if isinstance(key, str) and isinstance(value, numbers.Number | np.bool_)}
