"""The layout holds: imports run experiments -> simstudy -> estimator, without cycles, and
simstudy/ and experiments/ use only the estimator's public API; inside simstudy the parts
run cli -> bench -> writeup -> studies -> harness, and the harness imports nothing of the
estimator; experiments/ holds thin entry points."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import estimator

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("estimator", "simstudy", "experiments")
RANK = {"estimator": 0, "simstudy": 1, "experiments": 2}
ENGINE_INTERNALS = {
    "simstudy/bench/cases.py": {"estimator.engine": {"prepare", "run_em"}},
    "simstudy/bench/measure.py": {"estimator.engine": {"em_sweep", "prepare", "run_em"}},
    "simstudy/bench/trust_region.py": {
        "estimator.derivatives": {"mixture_derivatives"},
        "estimator.engine": {
            "EMRun",
            "NewtonPoint",
            "NewtonStep",
            "Problem",
            "log_likelihood",
            "prepare",
            "rounding_slack",
            "run_em",
            "trial_loglik",
            "unit_diagonal",
        },
    },
}
"""The benchmark times the engine's iteration itself and plugs an alternative Newton step
into its loop, so it may reach these internals (only)."""
PARTS = ("harness", "studies", "writeup", "bench", "cli")
"""simstudy's subpackages, lowest first: a part imports only parts below it (or itself)."""
KNOWN_CYCLES: set[frozenset[str]] = set()
"""Import cycles tolerated: none (CSV reading has its own module, estimator/csvio.py)."""
MAX_ENTRY_POINT_LINES = 80
"""An entry point is its docstring, parse_args and a main of about 60 lines or less."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def is_module(name: str) -> bool:
    path = REPO / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of every import in the file, nested ones included."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [alias.name for alias in node.names]
            submodules = [f"{module}.{n}" for n in names if is_module(f"{module}.{n}")]
            out += [(m, []) for m in submodules] or [(module, names)]
    return [(m, n) for m, n in out if m.split(".")[0] in PACKAGES]


def test_imports_run_one_way():
    wrong = []
    for path in source_files():
        own = module_name(path).split(".")[0]
        for module, _ in imports_of(path):
            if RANK[module.split(".")[0]] > RANK[own]:
                wrong.append(f"{path.relative_to(REPO)} imports {module}")
    assert wrong == []


def test_simstudy_parts_import_downwards_and_the_harness_knows_no_model():
    wrong = []
    for path in sorted((REPO / "simstudy").rglob("*.py")):
        parts = module_name(path).split(".")
        if len(parts) < 2 or parts[1] not in PARTS:
            continue
        own = PARTS.index(parts[1])
        for module, _ in imports_of(path):
            target = module.split(".")
            if target[0] == "estimator" and parts[1] == "harness":
                wrong.append(f"{path.relative_to(REPO)} imports {module}")
            if target[0] == "simstudy" and len(target) > 1 and target[1] in PARTS:
                if PARTS.index(target[1]) > own:
                    wrong.append(f"{path.relative_to(REPO)} imports {module}")
    assert wrong == []


def test_simstudy_and_experiments_use_only_the_public_api():
    wrong = []
    for path in source_files():
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("estimator/"):
            continue
        allowed = ENGINE_INTERNALS.get(rel, {})
        for module, names in imports_of(path):
            if not module.startswith("estimator"):
                continue
            private = [n for n in names if n.startswith("_")]
            if private:
                wrong.append(f"{rel}: private name(s) {private} from {module}")
            if module == "estimator":
                missing = [n for n in names if n not in estimator.__all__]
                if missing:
                    wrong.append(f"{rel}: {missing} not in estimator.__all__")
                continue
            extra = set(names) - allowed.get(module, set())
            if extra or not names:
                wrong.append(f"{rel}: {module} is private ({sorted(extra) or 'module'})")
    assert wrong == []


def test_no_import_cycles():
    graph: dict[str, set[str]] = {}
    for path in source_files():
        graph[module_name(path)] = {m for m, _ in imports_of(path)}
    modules = set(graph)
    edges = {a: {b for b in deps if b in modules and b != a} for a, deps in graph.items()}
    cycles = []
    for a, deps in edges.items():
        for b in deps:
            if reachable(edges, b, a) and frozenset({a, b}) not in KNOWN_CYCLES:
                cycles.append(f"{a} -> {b} -> ... -> {a}")
    assert cycles == []


def reachable(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack += edges.get(node, ())
    return False


def test_the_checks_see_what_they_must():
    """The walker resolves relative and nested imports (else the tests above pass vacuously)."""
    found = dict(imports_of(REPO / "simstudy" / "studies" / "mixture.py"))
    assert "simstudy.studies.config" in found and "estimator" in found
    bench = {m for m, _ in imports_of(REPO / "simstudy" / "bench" / "measure.py")}
    assert "estimator.engine" in bench
    build = {m for m, _ in imports_of(REPO / "simstudy" / "writeup" / "report.py")}
    assert {"simstudy.studies.baselines", "simstudy.writeup.real"} <= build
    runner = {m for m, _ in imports_of(REPO / "simstudy" / "harness" / "runner.py")}
    assert "simstudy.harness.parallel" in runner
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert reachable(edges, "b", "a") and not reachable({"a": {"b"}, "b": set()}, "b", "a")


def test_experiments_are_thin_entry_points():
    fat = {}
    for path in sorted((REPO / "experiments").glob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defs = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        allowed = {"_missing_package"} if path.name == "__init__.py" else set()  # its hook
        if lines > MAX_ENTRY_POINT_LINES or set(defs) - {"parse_args", "main", "_echo", *allowed}:
            fat[path.name] = (lines, defs)
    assert fat == {}


LATER_DEPENDENCIES = ("formulaic", "sklearn", "tqdm", "threadpoolctl")
"""Run-time dependencies added after the first release: the real-data command must start
without them (an environment that predates them can still fit the sales panel)."""


def test_the_real_data_command_starts_without_the_later_dependencies():
    code = "import sys, experiments.fit_real; print(sorted(set(sys.modules) & set(sys.argv[1:])))"
    done = subprocess.run(
        [sys.executable, "-c", code, *LATER_DEPENDENCIES],
        capture_output=True, text=True, cwd=REPO, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "[]"


def test_the_real_data_command_fits_without_joblib(tmp_path):
    # joblib serves studies and bootstraps; an environment without it still fits the panel
    code = (
        "import sys; sys.modules['joblib'] = None; "
        "from experiments import fit_real; sys.exit(fit_real.main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results.json").is_file()
    bad = subprocess.run(
        [sys.executable, "-c", code, "--k", "0"], capture_output=True, text=True, cwd=REPO
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


NOT_NUMPY_OR_SCIPY = ("pandas", "matplotlib", "tabulate", "joblib", *LATER_DEPENDENCIES)
"""Every run-time dependency but numpy and scipy: the real-data fit does without them."""


def _bare_fit_real(*flags: str) -> subprocess.CompletedProcess:
    """``python -m experiments.fit_real FLAGS`` in a Python that can import numpy and scipy only."""
    code = (
        f"import sys, runpy; sys.modules.update(dict.fromkeys({NOT_NUMPY_OR_SCIPY!r})); "
        "runpy.run_module('experiments.fit_real', run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *flags], capture_output=True, text=True, cwd=REPO
    )


def test_the_real_data_command_fits_with_numpy_and_scipy_alone(tmp_path):
    # the same results.json, segments and printout as with every package installed
    bare, full = tmp_path / "bare", tmp_path / "full"
    done = _bare_fit_real("--out", str(bare), "--bootstrap", "5")
    assert done.returncode == 0, done.stderr
    command = [sys.executable, "-m", "experiments.fit_real", "--out", str(full), "--bootstrap", "5"]
    usual = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.replace(str(bare), str(full)) == usual.stdout
    bare_doc, full_doc = (json.loads((d / "results.json").read_text()) for d in (bare, full))
    assert {**bare_doc, "software": None} == {**full_doc, "software": None}
    assert set(bare_doc["software"]) == {"python", "numpy", "scipy"}
    segments = (bare / "real" / "store_segments.csv").read_bytes()
    assert segments == (REPO / "outputs" / "real" / "store_segments.csv").read_bytes()


def test_the_bare_real_data_command_names_the_flag_or_the_package_in_one_line(tmp_path):
    cases = [
        (["--k", "0"], 2, "argument --k: expected an integer >= 1, got '0'"),
        (["--blrt", "19"], 2, "--blrt draws the figure real/blrt_lr, which needs matplotlib"),
        (["--formula", "y ~ x"], 1, "error: pandas is not installed in "),
        (["--bootstrap", "9", "--n-jobs", "2"], 1, "error: joblib is not installed in "),
    ]
    for flags, status, words in cases:
        done = _bare_fit_real("--out", str(tmp_path), *flags)
        assert done.returncode == status and done.stdout == "", flags
        (line,) = done.stderr.strip().splitlines()
        assert words in line, (flags, line)
    assert not any(tmp_path.iterdir())


def test_a_command_whose_packages_are_missing_says_so_in_one_line(tmp_path):
    # as `python -m experiments.NAME` (experiments/__init__.py's hook), with packages blocked
    code = (
        "import runpy, sys; sys.modules.update(dict.fromkeys(sys.argv[1].split(','))); "
        "del sys.argv[1]; sys.argv[0] = '-m'; "
        "runpy.run_module(sys.argv[1], run_name='__main__', alter_sys=True)"
    )
    for blocked, command, flags in [
        ("scipy", "experiments.fit_real", ["--out", str(tmp_path)]),
        ("numpy", "experiments.fit_real", ["--k", "0"]),
        ("pandas", "experiments.recovery", ["--config", "experiments/configs/real_like.json"]),
        ("matplotlib,tabulate", "experiments.report", ["--out", str(tmp_path)]),
    ]:
        done = subprocess.run(
            [sys.executable, "-c", code, blocked, command, *flags],
            capture_output=True, text=True, cwd=REPO,
        )  # fmt: skip
        assert done.returncode == 1 and done.stdout == "", (command, done.stderr)
        (line,) = done.stderr.strip().splitlines()
        package = line.removeprefix("error: ").split()[0]
        assert package in blocked.split(","), line
        assert line == (f"error: {package} is not installed in {sys.executable}; "
                        "install the project first: pip install -e ."), line  # fmt: skip
    assert not any(tmp_path.iterdir())


def test_one_blas_thread_is_a_no_op_without_threadpoolctl(monkeypatch):
    from estimator import threads

    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    monkeypatch.setattr(threads, "_CONTROLLER", None)
    assert threads.one_blas_thread(lambda x: x + 1)(1) == 2
    assert threads._CONTROLLER is False


def test_a_missing_module_of_an_installed_package_is_a_bug_not_an_install_problem():
    from simstudy.cli.args import _not_installed

    assert _not_installed(ModuleNotFoundError("x", name="no_such_package.sub")) == "no_such_package"
    assert _not_installed(ModuleNotFoundError("x", name="simstudy.no_such_module")) is None
    assert _not_installed(ModuleNotFoundError("x", name="numpy.no_such_module")) is None
    assert _not_installed(ImportError("x", name="no_such_package")) is None
