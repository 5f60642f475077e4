"""Models as Brian2 equations, installed as ``brianrflo.models``."""

from .rate import RATE, RateModel, phi_prime

__all__ = ["RATE", "RateModel", "phi_prime"]
