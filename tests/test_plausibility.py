"""Data that parse but look wrong: one PlausibilityWarning line naming the column, then the fit.

Totals among the stores, prices and sales swapped, sales already logged; the real
data and ordinary panels give no warning.
"""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimator import LongPanel, PlausibilityWarning, as_panel, load_csv, load_long_csv

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "data" / "609948.csv"


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    return pd.read_csv(REAL).copy()  # one block: assigning columns does not fragment it


@pytest.fixture(scope="module")
def long(wide) -> pd.DataFrame:
    frame = wide.melt(id_vars="Price", var_name="store", value_name="sales", ignore_index=False)
    return frame.rename_axis("week").reset_index().rename(columns={"Price": "price"})


def plausibility_messages(load, *args, **kwargs) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = load(*args, **kwargs)
    found = [str(w.message) for w in caught if issubclass(w.category, PlausibilityWarning)]
    assert all("\n" not in message for message in found)  # one line each
    return result, found


def test_the_real_data_and_ordinary_panels_give_no_warning(wide, long, tmp_path):
    for load, data in ((load_csv, REAL), (as_panel, wide), (as_panel, long)):
        assert plausibility_messages(load, data)[1] == []
    counts = pd.DataFrame({"Price": [2.0, 3.0, 4.0], "S1": [10, 8, 6], "S2": [20, 15, 11]})
    assert plausibility_messages(as_panel, counts)[1] == []  # small, but whole numbers
    spread = counts.assign(S1=[0.5, 2.5, 40.0], S2=[3.5, 1.25, 7.0], S3=[9.0, 4.0, 2.0])
    assert plausibility_messages(as_panel, spread)[1] == []  # fractional, but no log's band


@pytest.mark.parametrize(
    "name", ["Total", "TOTAL", "Totals", "Sum", "All", "All stores", "all_stores", "Grand total",
             "Sales_Total", "sub-total", "Overall", "Aggregate"]
)  # fmt: skip
def test_a_column_named_like_a_total_is_named_and_still_fitted(wide, name):
    frame = wide.assign(**{name: wide.iloc[:, 1:].mean(axis=1)})
    panel, found = plausibility_messages(as_panel, frame)
    assert found == [
        f"<DataFrame>: column {name!r} looks like a total, not a store (its name); it is "
        "fitted as a store: remove it if it is not one"
    ]
    assert panel.n_stores == 301


@pytest.mark.parametrize("name", ["Summer", "Allston", "Totality", "Sales301", "sumo"])
def test_names_that_only_resemble_a_total_are_not_warned_about(wide, name):
    frame = wide.assign(**{name: wide["Sales7"] * 1.5})
    assert plausibility_messages(as_panel, frame)[1] == []


def test_a_column_equal_to_the_sum_of_the_others_is_a_total_in_a_file_too(wide, tmp_path):
    frame = wide.assign(S301=wide.iloc[:, 1:].sum(axis=1))
    path = tmp_path / "with_sum.csv"
    frame.to_csv(path, index=False)
    panel, found = plausibility_messages(load_csv, path)
    assert found == [
        f"{path}: column 'S301' looks like a total, not a store (it equals the sum of the other "
        "store columns in every week); it is fitted as a store: remove it if it is not one"
    ]
    assert panel.n_stores == 301
    holes = frame.copy()
    holes.loc[3, "Sales9"] = np.nan  # the weeks with every store observed still show it
    assert len(plausibility_messages(as_panel, holes)[1]) == 1


def test_prices_and_sales_swapped_are_named(long, wide):
    swapped = long.rename(columns={"sales": "price", "price": "sales"})
    panel, found = plausibility_messages(load_long_csv, swapped)
    assert found == [
        "<DataFrame>: column 'price' (median 1.781e+04) is larger than the sales (median "
        "2.29): are prices and sales swapped?"
    ]
    assert isinstance(panel, LongPanel) and panel.n_stores == 300
    dear = wide.assign(Price=wide["Price"] * 1e4)  # prices near 25,000, sales smaller
    found = plausibility_messages(as_panel, dear)[1]
    assert len(found) == 1 and found[0].startswith("<DataFrame>: column 'Price' (median 2.29e+04)")


def test_sales_already_logged_are_named(wide, long, tmp_path):
    logged = wide.copy()
    logged.iloc[:, 1:] = np.log(wide.iloc[:, 1:])
    path = tmp_path / "logged.csv"
    logged.to_csv(path, index=False)
    for data in (path, logged):
        panel, found = plausibility_messages(load_csv, data)
        where = path if data is path else "<DataFrame>"
        assert found == [
            f"{where}: sales columns 'Sales1'..'Sales300' look like logs already (every value "
            "between 4.155 and 13.95, not whole numbers); pass the sales themselves, the log is "
            "taken here"
        ]
        assert panel.n_stores == 300  # fitted all the same
    found = plausibility_messages(load_long_csv, long.assign(sales=np.log(long["sales"])))[1]
    assert len(found) == 1 and found[0].startswith("<DataFrame>: column 'sales' look like logs")


def test_the_command_warns_in_one_line_and_fits(wide, tmp_path):
    path = tmp_path / "with_total.csv"
    wide.iloc[:, :31].assign(Total=wide.iloc[:, 1:31].sum(axis=1)).to_csv(path, index=False)
    run = subprocess.run(
        [sys.executable, "-m", "experiments.fit_real", "--data", str(path),
         "--out", str(tmp_path / "out"), "--k", "1", "2", "--n-init", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = [line for line in (run.stdout + run.stderr).splitlines() if "a total" in line]
    assert lines == [
        f"warning: {path}: column 'Total' looks like a total, not a store (its name); it is "
        "fitted as a store: remove it if it is not one"
    ]
    assert "N = 31 stores" in run.stdout
