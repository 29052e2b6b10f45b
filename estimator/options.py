"""The settings of a fit, in one frozen object that travels from every front to the loop.

:class:`FitOptions` holds what decides a fit besides the data and K: the number
and scheme of starts, the stopping rule, the sigma mode, the seed, the guard
against spurious maxima, and whether EM is accelerated and polished. Each value
is checked once, when the object is made, with a message naming the argument.
Fronts build one (``SalesMixture``, ``MixtureRegression``, the command lines);
:func:`estimator.fit.fit_mixture`, :func:`estimator.selection.fit_k_range`, the
bootstrap and the BLRT take it whole.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from .init import INIT_METHODS, InitMethod, SeedLike
from .params import SigmaMode, check_sigma_mode
from .validation import check_non_negative, check_seed, check_whole_number

DEFAULT_TOL = 1e-8
DEFAULT_MAX_ITER = 5000
DEFAULT_N_INIT = 100
DEFAULT_INIT = "mixed"
MAX_N_INIT = 1_000_000
"""More starts than this are refused (they would not fit in memory as one batch)."""
GUARDS: tuple[str, ...] = ("size",)
"""Guards against spurious maxima (:mod:`estimator.guard`); None turns the guard off."""
DEFAULT_GUARD = "size"


@dataclass(frozen=True)
class FitOptions:
    """How to fit: starts, stopping rule, sigma mode, seed, guard.

    Parameters
    ----------
    n_init : int
        Drawn starting points per fit (>= 1 unless starting values are given; a
        refit's drawn starts besides its known points, >= 0).
    tol : float
        Relative change of the log-likelihood at which EM hands over to Newton (>= 0).
    max_iter : int
        EM-map evaluations per start at most (>= 1).
    init : {"mixed", "kmeans++", "stores", "partition", "small"}
        Starting-value scheme (:mod:`estimator.init`).
    sigma : {"fixed", "common", "segment"}
        Error standard deviation: fixed at 1 (the assignment's model), one
        estimated for all segments, or one per segment.
    seed : int >= 0, SeedSequence, Generator or None
        Randomness of the starting values.
    guard : {"size"} or None
        Guard against spurious maxima where sigma is per segment
        (:mod:`estimator.guard`); None gives the unconstrained maximum-likelihood
        estimate.
    polish : bool
        Newton polish and certificate (default); False stops at the EM rule.
    accelerate : bool
        SQUAREM (default) or plain EM steps.
    """

    n_init: int = DEFAULT_N_INIT
    tol: float = DEFAULT_TOL
    max_iter: int = DEFAULT_MAX_ITER
    init: InitMethod = DEFAULT_INIT
    sigma: SigmaMode = "fixed"
    seed: SeedLike = None
    guard: str | None = DEFAULT_GUARD
    polish: bool = True
    accelerate: bool = True

    def __post_init__(self) -> None:
        check = object.__setattr__
        check(self, "n_init", check_whole_number(self.n_init, "n_init", 0, MAX_N_INIT))
        check(self, "tol", check_non_negative(self.tol, "tol"))
        check(self, "max_iter", check_whole_number(self.max_iter, "max_iter", minimum=1))
        if self.init not in INIT_METHODS:
            raise ValueError(f"init must be one of {INIT_METHODS}, got {self.init!r}")
        check_sigma_mode(self.sigma, "sigma")
        check_seed(self.seed, "seed")
        if self.guard is not None and self.guard not in GUARDS:
            raise ValueError(f"guard must be one of {GUARDS} or None, got {self.guard!r}")
        for name in ("polish", "accelerate"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")

    def replace(self, **changes: Any) -> FitOptions:
        """A copy with ``changes`` (checked like the constructor's arguments)."""
        return replace(self, **changes)

    @property
    def guarded(self) -> bool:
        """Whether the guard acts: on, and sigma per segment (the only mode with a singularity)."""
        return self.guard is not None and self.sigma == "segment"

    def settings(self) -> dict[str, Any]:
        """The JSON-ready settings (without the seed), for results files."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "seed"}


OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(FitOptions))


def fit_options(options: FitOptions | None = None, **overrides: Any) -> FitOptions:
    """``options`` (default :class:`FitOptions`) with keyword ``overrides``.

    Raises
    ------
    TypeError
        An unknown option name (the message lists the known ones).
    """
    unknown = sorted(set(overrides) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(f"unknown fit option(s) {unknown}; options are {list(OPTION_NAMES)}")
    if options is not None and not isinstance(options, FitOptions):
        raise TypeError(f"options must be a FitOptions, got {type(options).__name__}")
    base = FitOptions() if options is None else options
    return base.replace(**overrides) if overrides else base
