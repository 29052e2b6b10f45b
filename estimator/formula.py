"""Data for any mixture of regressions: a formula, optional groups, optional concomitants.

:func:`regression_data` turns a DataFrame (or a CSV path) and a Wilkinson formula
such as ``"np.log(sales) ~ np.log(price) + promo"`` into a :class:`RegressionData`:
the response, the design (formulaic builds it: transformations, interactions,
categorical columns dummy-coded), and the unit of every row. With ``group`` the
rows of one unit share its segment (a store's weeks); without it every row is
its own unit (the textbook mixture of regressions, flexmix's and mixtools'
examples). Units of any size are fitted, down to one observation and fewer
observations than regressors: nothing needs a unit's own regression.

A concomitant formula (``"~ size + region"``) gives unit covariates z_i for a
multinomial-logit prior, read from the data (constant within a unit) or from a
separate table of units (``unit_data``: the group column plus the covariates).

Every bad input is one ``ValueError`` naming the formula, column, row or unit at
fault: a missing or non-numeric column, a missing value, a group column with a
missing value, a covariate that varies within a unit or is collinear with the
others, a unit table that misses a unit or names an unknown one.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .longpanel import long_stats
from .panel import SufficientStats

DataLike = pd.DataFrame | str | os.PathLike
NUMERIC_SHARE = 0.9
"""A text column whose cells are numbers in at least this share is a numeric column with
stray text (refused), not a categorical one."""


@dataclass(frozen=True, eq=False)
class RegressionData:
    """Observations of units, each row with its response and regressors.

    Attributes
    ----------
    unit : ndarray of int, shape (M,)
        The unit (0..N-1) of every row.
    y : ndarray of shape (M,)
        Response.
    X : ndarray of shape (M, P)
        Design (formulaic's model matrix).
    unit_ids : tuple of hashable, length N
        The group column's value of every unit (first-appearance order), or the
        row labels when every row is its own unit.
    coef_names : tuple of str, length P
        The design's column names (``Intercept``, ``x``, ``I(x ** 2)``, ...).
    response : str
        The formula's left-hand side.
    formula : str
    group : str or None
        The group column (None: every row its own unit).
    covariates : ndarray of shape (N, Q) or None
        Unit covariates z_i of a concomitant prior.
    covariate_names : tuple of str or None
    concomitant : str or None
        The concomitant formula.
    source : str
    spec : object
        formulaic's model spec of the design (new data get the same columns).
    concomitant_spec : object or None
    """

    unit: np.ndarray
    y: np.ndarray
    X: np.ndarray
    unit_ids: tuple[Any, ...]
    coef_names: tuple[str, ...]
    response: str
    formula: str
    group: str | None
    covariates: np.ndarray | None
    covariate_names: tuple[str, ...] | None
    concomitant: str | None
    source: str
    spec: Any = field(repr=False)
    concomitant_spec: Any = field(default=None, repr=False)

    @property
    def n_units(self) -> int:
        """Number of units N."""
        return len(self.unit_ids)

    @property
    def n_obs(self) -> int:
        """Number of observations (rows) M."""
        return len(self.y)

    @property
    def store_ids(self) -> tuple[Any, ...]:
        """The unit ids (the name the sales panels use)."""
        return self.unit_ids

    def sufficient_stats(self) -> SufficientStats:
        """Per-unit Gram matrices, least-squares solutions and residual sums of squares."""
        cached = self.__dict__.get("_stats")
        if cached is None:
            cached = unit_stats(self.unit, self.y, self.X, self.n_units)
            object.__setattr__(self, "_stats", cached)
        return cached

    def describe(self) -> dict[str, Any]:
        """What a results file records of the data: formula, group, sizes, covariates."""
        return {
            "formula": self.formula,
            "group": self.group,
            "units": self.n_units,
            "observations": self.n_obs,
            "coefficients": list(self.coef_names),
            "concomitant": self.concomitant,
            "covariates": None if self.covariate_names is None else list(self.covariate_names),
        }


def unit_stats(unit: np.ndarray, y: np.ndarray, X: np.ndarray, n_units: int) -> SufficientStats:
    """Sufficient statistics of rows grouped in units of any size, down to one row: as
    :func:`~estimator.longpanel.long_stats` (``unit`` the row's unit, 0..n_units-1).

    With every unit a single row the statistics are written down directly:
    G_i = x_i x_i', b_i = x_i y_i / x_i'x_i (the minimum-norm solution), RSS_i = 0.
    """
    if len(unit) == n_units and np.array_equal(unit, np.arange(n_units)):
        norm = np.einsum("mp,mp->m", X, X)
        safe = np.where(norm > 0, norm, 1.0)
        ols = X * np.where(norm > 0, y / safe, 0.0)[:, None]
        rss = np.where(norm > 0, 0.0, y**2)
        gram = X[:, :, None] * X[:, None, :]
        return SufficientStats(ols=ols, rss=rss, gram=gram, n_obs=np.ones(n_units))
    return long_stats(unit, y, X, n_units)


def read_table(data: DataLike, name: str) -> tuple[pd.DataFrame, str]:
    """A DataFrame and its label: ``data`` itself, or a CSV file read with pandas.

    Raises
    ------
    TypeError, ValueError
        Naming the argument ``name`` or the file.
    """
    if isinstance(data, pd.DataFrame):
        return data, "<DataFrame>"
    if isinstance(data, str | os.PathLike):
        path = os.fspath(data)
        try:
            return pd.read_csv(path), path
        except FileNotFoundError:
            raise ValueError(f"{name}: no such file: {path}") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
            raise ValueError(f"{path}: not a readable CSV table ({first})") from None
    raise TypeError(f"{name} must be a pandas DataFrame or a CSV path, got {type(data).__name__}")


def regression_data(
    data: DataLike,
    formula: str,
    group: str | None = None,
    concomitant: str | None = None,
    unit_data: DataLike | None = None,
) -> RegressionData:
    """Build :class:`RegressionData` from a table and a formula.

    Parameters
    ----------
    data : DataFrame or CSV path
        One row per observation.
    formula : str
        ``"response ~ regressors"`` in Wilkinson notation (formulaic):
        transformations (``np.log(sales)``, ``I(x**2)``), interactions,
        categorical columns (dummy-coded, first level the reference); an
        intercept unless ``- 1`` or ``0 +``.
    group : str, optional
        The column naming each row's unit; None: every row is its own unit.
    concomitant : str, optional
        ``"~ covariates"``: unit covariates of a multinomial-logit prior (with an
        intercept unless removed), from ``unit_data`` when given, else from
        ``data`` (where they must be constant within each unit).
    unit_data : DataFrame or CSV path, optional
        One row per unit: the ``group`` column and the covariates.

    Returns
    -------
    RegressionData

    Raises
    ------
    TypeError, ValueError
        One line naming the formula, column, row or unit at fault.
    """
    frame, source = read_table(data, "data")
    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(f"formula must be a string 'response ~ regressors', got {formula!r}")
    if not formula.split("~", 1)[0].strip():
        raise ValueError(f"formula {formula!r} has no response: write 'y ~ x1 + x2'")
    if frame.empty:
        raise ValueError(f"{source}: the data have no rows")
    _check_columns(frame, formula, "formula", source)
    spec_input = frame
    matrices = _model_matrix(formula, spec_input, "formula", source)
    lhs, rhs = matrices.lhs, matrices.rhs
    if lhs.shape[1] != 1:
        raise ValueError(
            f"formula {formula!r}: the response must be one numeric column, got "
            f"{list(lhs.columns)} (a text column as the response?)"
        )
    y = np.asarray(lhs.to_numpy(dtype=float)[:, 0])
    X = np.asarray(rhs.to_numpy(dtype=float))
    coef_names = tuple(str(c) for c in rhs.columns)
    _check_finite(y, X, frame, formula, coef_names, source)
    _check_rank(X, coef_names, f"formula {formula!r}")
    unit, unit_ids = _units(frame, group, source)
    covariates = names = spec = None
    if concomitant is not None:
        covariates, names, spec = _covariates(
            frame, concomitant, group, unit, unit_ids, unit_data, source
        )
    elif unit_data is not None:
        raise ValueError("unit_data is only read with a concomitant formula ('~ z1 + z2')")
    return RegressionData(
        unit=unit,
        y=y,
        X=X,
        unit_ids=unit_ids,
        coef_names=coef_names,
        response=str(lhs.columns[0]),
        formula=formula,
        group=group,
        covariates=covariates,
        covariate_names=names,
        concomitant=concomitant,
        source=source,
        spec=matrices.model_spec,
        concomitant_spec=spec,
    )


def new_data(
    fitted: RegressionData, data: DataLike, unit_data: DataLike | None = None
) -> RegressionData:
    """New observations through a fitted data's formulas: the same design columns.

    Categorical levels are those of the fitted data; the response must be present.
    """
    frame, source = read_table(data, "data")
    if frame.empty:
        raise ValueError(f"{source}: the data have no rows")
    _check_columns(frame, fitted.formula, "formula", source)
    matrices = _spec_matrix(fitted.spec, frame, fitted.formula, source)
    y = np.asarray(matrices.lhs.to_numpy(dtype=float)[:, 0])
    X = np.asarray(matrices.rhs.to_numpy(dtype=float))
    _check_finite(y, X, frame, fitted.formula, fitted.coef_names, source)
    unit, unit_ids = _units(frame, fitted.group, source)
    covariates = None
    if fitted.concomitant is not None:
        covariates, _, _ = _covariates(
            frame,
            fitted.concomitant,
            fitted.group,
            unit,
            unit_ids,
            unit_data,
            source,
            spec=fitted.concomitant_spec,
        )
    # the fitted data's formula, names and specs; these rows, units and covariates
    return replace(
        fitted, unit=unit, y=y, X=X, unit_ids=unit_ids, covariates=covariates, source=source
    )


# ---------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _required_columns(formula: str) -> list[str]:
    """The data columns ``formula`` reads, sorted (formulaic imported here: the sales path
    needs no formula library)."""
    from formulaic import Formula

    return sorted(map(str, Formula(formula).required_variables))


def _check_columns(frame: pd.DataFrame, formula: str, what: str, source: str) -> None:
    """Every column the formula reads exists, and none is numbers with stray text."""
    from formulaic.errors import FormulaSyntaxError

    try:
        variables = _required_columns(formula)
    except (FormulaSyntaxError, ValueError) as error:
        raise ValueError(f"{what} {formula!r} cannot be parsed: {_first_line(error)}") from None
    columns = set(map(str, frame.columns))
    for variable in variables:
        if variable not in columns:
            shown = ", ".join(sorted(columns)[:8]) + (" ..." if len(columns) > 8 else "")
            raise ValueError(
                f"{what} {formula!r} names column {variable!r}, which is not in {source} "
                f"(columns: {shown})"
            )
        _check_text_column(frame[variable], variable, source)


def _check_text_column(column: pd.Series, name: str, source: str) -> None:
    """A text column that is mostly numbers holds a stray string: refuse it, naming the row."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return
    values = column.dropna()
    if values.empty:
        return
    numbers = pd.to_numeric(values.astype(str), errors="coerce")
    share = float(numbers.notna().mean())
    if share >= NUMERIC_SHARE and share < 1.0:
        bad = numbers.index[numbers.isna()][0]
        row = int(np.flatnonzero(column.index == bad)[0])
        raise ValueError(
            f"{source}: column {name!r} is numeric but row {row + 1} (index {bad!r}) holds "
            f"{column.loc[bad]!r}"
        )
    if share == 1.0:
        raise ValueError(
            f"{source}: column {name!r} holds numbers stored as text; convert it with "
            "pd.to_numeric (or, for a categorical column, use C(...) in the formula)"
        )


def _model_matrix(formula: str, frame: pd.DataFrame, what: str, source: str) -> Any:
    """formulaic's model matrices of ``frame``; a missing input cell is refused first.

    A transformation that yields NaN or an infinity (log of 0) is left in the matrix,
    for :func:`_check_finite` to name its row.
    """
    from formulaic import model_matrix
    from formulaic.errors import FactorEvaluationError

    _check_missing(frame, formula, source)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return model_matrix(formula, frame, na_action="ignore")
    except FactorEvaluationError as error:
        raise ValueError(f"{what} {formula!r}: {_first_line(error)}") from None
    except ValueError as error:
        raise ValueError(f"{what} {formula!r}: {_first_line(error)}") from None


def _spec_matrix(spec: Any, frame: pd.DataFrame, formula: str, source: str) -> Any:
    """A fitted spec's model matrices of new rows (the fitted columns and categories)."""
    from formulaic.errors import FactorEvaluationError

    _check_missing(frame, formula, source)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return spec.get_model_matrix(frame, na_action="ignore")
    except (FactorEvaluationError, ValueError, KeyError) as error:
        raise ValueError(f"{source}: {_first_line(error)}") from None


def _check_missing(frame: pd.DataFrame, formula: str, source: str) -> None:
    """Refuse the first missing cell among the formula's columns, naming column and row."""
    for variable in _required_columns(formula):
        missing = frame[variable].isna().to_numpy()
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise ValueError(
                f"{source}: column {variable!r} has a missing value in row {row + 1} "
                f"(index {frame.index[row]!r}); drop or fill the missing rows first"
            )


def _check_finite(
    y: np.ndarray,
    X: np.ndarray,
    frame: pd.DataFrame,
    formula: str,
    coef_names: tuple[str, ...],
    source: str,
) -> None:
    """y and X finite (a transformation may make them infinite: log(0))."""
    bad_y = ~np.isfinite(y)
    if bad_y.any():
        row = int(np.flatnonzero(bad_y)[0])
        raise ValueError(
            f"{source}: the response of formula {formula!r} is {y[row]} in row {row + 1} "
            f"(index {frame.index[row]!r}); log of 0 or of a negative number?"
        )
    bad_X = ~np.isfinite(X)
    if bad_X.any():
        row, col = (int(v) for v in np.argwhere(bad_X)[0])
        raise ValueError(
            f"{source}: regressor {coef_names[col]!r} is {X[row, col]} in row {row + 1} "
            f"(index {frame.index[row]!r})"
        )


def _check_rank(X: np.ndarray, names: tuple[str, ...], what: str) -> None:
    """Full column rank, else name a column that is a combination of the others."""
    if X.shape[0] < X.shape[1]:
        raise ValueError(f"{what}: {X.shape[0]} rows for {X.shape[1]} coefficients")
    scale = np.sqrt(np.einsum("mp,mp->p", X, X))
    if np.any(scale == 0):
        raise ValueError(f"{what}: column {names[int(np.argmin(scale))]!r} is all zero")
    standard = X / scale
    if np.linalg.matrix_rank(standard) == X.shape[1]:
        return
    for j in range(1, X.shape[1] + 1):
        if np.linalg.matrix_rank(standard[:, :j]) < j:
            raise ValueError(
                f"{what}: column {names[j - 1]!r} is a combination of the columns before it "
                f"({', '.join(map(repr, names[: j - 1]))}): its coefficient is not identified"
            )


def _units(frame: pd.DataFrame, group: str | None, source: str) -> tuple[np.ndarray, tuple]:
    """The unit index of every row and the unit ids (first-appearance order)."""
    if group is None:
        return np.arange(len(frame)), tuple(frame.index.tolist())
    if not isinstance(group, str) or group not in frame.columns:
        raise ValueError(f"group: column {group!r} is not in {source}")
    column = frame[group]
    missing = column.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise ValueError(
            f"{source}: the group column {group!r} has a missing value in row {row + 1} "
            f"(index {frame.index[row]!r}); every row needs its unit"
        )
    codes, uniques = pd.factorize(column, sort=False)
    return codes.astype(np.int64), tuple(uniques.tolist())


def unit_covariates(
    concomitant: str,
    unit_ids: tuple,
    group: str,
    data: DataLike | None = None,
    unit_data: DataLike | None = None,
    spec: Any = None,
) -> tuple[np.ndarray, tuple[str, ...], Any]:
    """Covariates of the units ``unit_ids``: from ``unit_data`` (one row per unit) or from
    the rows of ``data`` (constant within each unit; rows of other units are ignored).

    Parameters
    ----------
    concomitant : str
        ``"~ z1 + z2"``.
    unit_ids : tuple
        The units, in the order the fit has them.
    group : str
        The column naming each row's (or table row's) unit.
    data : DataFrame or CSV path, optional
    unit_data : DataFrame or CSV path, optional
    spec : formulaic spec, optional
        A fitted concomitant spec (new units get the fitted columns).

    Returns
    -------
    covariates : ndarray of shape (N, Q)
    names : tuple of str
    spec : formulaic spec
    """
    if unit_data is not None:
        frame, source = pd.DataFrame({group: list(unit_ids)}), "<units>"
        return _covariates(frame, concomitant, group, None, unit_ids, unit_data, source, spec)
    if data is None:
        raise ValueError(
            f"concomitant {concomitant!r}: give the covariates in the data or in unit_data"
        )
    frame, source = read_table(data, "data")
    if group not in frame.columns:
        raise ValueError(f"{source}: no column {group!r} to read the units' covariates by")
    position = {u: i for i, u in enumerate(unit_ids)}
    codes = frame[group].map(position)
    kept = codes.notna().to_numpy()
    frame = frame[kept].reset_index(drop=True)
    unit = codes[kept].to_numpy(dtype=np.int64)
    missing = np.setdiff1d(np.arange(len(unit_ids)), unit)
    if missing.size:
        raise ValueError(f"{source}: unit {unit_ids[missing[0]]!r} has no row with covariates")
    return _covariates(frame, concomitant, group, unit, unit_ids, None, source, spec)


def unit_table(
    concomitant: str, group: str, data: pd.DataFrame | None, unit_data: DataLike | None
) -> pd.DataFrame:
    """One row per unit: the group column and the raw columns the concomitant formula reads
    (from ``unit_data``, else the first row of every unit in ``data``)."""
    columns = _required_columns(concomitant)
    if unit_data is not None:
        table = read_table(unit_data, "unit_data")[0]
    elif data is not None:
        table = data.groupby(group, sort=False, as_index=False).first()
    else:
        raise ValueError(f"concomitant {concomitant!r}: no table of unit covariates")
    return table[[group, *columns]].reset_index(drop=True)


def _covariates(
    frame: pd.DataFrame,
    concomitant: str,
    group: str | None,
    unit: np.ndarray,
    unit_ids: tuple,
    unit_data: DataLike | None,
    source: str,
    spec: Any = None,
) -> tuple[np.ndarray, tuple[str, ...], Any]:
    """Unit covariates (N, Q), their names and formulaic's spec."""
    if not isinstance(concomitant, str) or not concomitant.strip().startswith("~"):
        raise ValueError(f"concomitant must be a formula '~ z1 + z2', got {concomitant!r}")
    if unit_data is not None:
        if group is None:
            raise ValueError("unit_data needs group (the column that names each row's unit)")
        table, table_source = read_table(unit_data, "unit_data")
        rows = _unit_rows(table, group, unit_ids, table_source)
        frame, source, unit = table.iloc[rows].reset_index(drop=True), table_source, None
    _check_columns(frame, concomitant, "concomitant", source)
    if spec is None:
        matrix = _model_matrix(concomitant, frame, "concomitant", source)
        spec = matrix.model_spec
    else:
        matrix = _spec_matrix(spec, frame, concomitant, source)
    Z = np.asarray(matrix.to_numpy(dtype=float))
    names = tuple(str(c) for c in matrix.columns)
    if not np.all(np.isfinite(Z)):
        row, col = (int(v) for v in np.argwhere(~np.isfinite(Z))[0])
        raise ValueError(f"{source}: covariate {names[col]!r} is {Z[row, col]} in row {row + 1}")
    if unit is not None:
        Z = _per_unit(Z, unit, len(unit_ids), names, unit_ids, group, source)
    _check_rank(Z, names, f"concomitant {concomitant!r} (one row per unit)")
    return Z, names, spec


def _per_unit(
    Z: np.ndarray,
    unit: np.ndarray,
    n_units: int,
    names: tuple[str, ...],
    unit_ids: tuple,
    group: str | None,
    source: str,
) -> np.ndarray:
    """One row of covariates per unit; a covariate that varies within a unit is refused."""
    first = np.full(n_units, -1)
    first[unit[::-1]] = np.arange(len(unit))[::-1]
    per_unit = Z[first]
    differs = np.abs(Z - per_unit[unit]) > 1e-12 * np.maximum(1.0, np.abs(per_unit[unit]))
    if differs.any():
        row, col = (int(v) for v in np.argwhere(differs)[0])
        raise ValueError(
            f"{source}: covariate {names[col]!r} varies within unit {unit_ids[unit[row]]!r} "
            f"(group column {group!r}, row {row + 1}): a concomitant must be constant in a unit"
        )
    return per_unit


def _unit_rows(table: pd.DataFrame, group: str, unit_ids: tuple, source: str) -> np.ndarray:
    """The row of ``table`` of every unit, in unit order; missing, unknown, repeated refused."""
    if group not in table.columns:
        raise ValueError(f"{source}: the unit table has no column {group!r} (the group column)")
    ids = table[group]
    repeated = ids[ids.duplicated()]
    if not repeated.empty:
        raise ValueError(f"{source}: unit {repeated.iloc[0]!r} appears more than once")
    position = {value: i for i, value in enumerate(ids.tolist())}
    missing = [u for u in unit_ids if u not in position]
    if missing:
        raise ValueError(
            f"{source}: unit {missing[0]!r} of the data has no row in the unit table"
            + (f" ({len(missing)} units missing)" if len(missing) > 1 else "")
        )
    known = set(unit_ids)
    unknown = [u for u in ids.tolist() if u not in known]
    if unknown:
        raise ValueError(f"{source}: the unit table names unit {unknown[0]!r}, not in the data")
    return np.array([position[u] for u in unit_ids])
