"""The top-level API as a notebook user meets it: plain functions, real signatures, fast import."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import empathy_metrics as em

ROOT = Path(__file__).resolve().parents[1]


def _all_submodules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(em.__path__, "empathy_metrics."))


def test_every_public_name_is_the_plain_object_after_importing_every_submodule():
    for name in _all_submodules():
        importlib.import_module(name)
    for name in em.__all__:
        if name == "__version__":
            continue
        obj = getattr(em, name)
        assert inspect.isfunction(obj) or inspect.isclass(obj), (name, type(obj))
        assert obj.__doc__ and obj.__doc__.strip(), name
        if inspect.isfunction(obj):
            params = inspect.signature(obj).parameters
            assert list(params) != ["args", "kwargs"], name
    assert "ci" in inspect.signature(em.reliability).parameters
    assert "correlation" in inspect.signature(em.efa).parameters
    assert "n_per_cohort" in inspect.signature(em.simulate).parameters
    assert "model" in inspect.signature(em.cfa).parameters
    assert em.reliability.__module__ == "empathy_metrics.reliability"


def test_same_name_modules_stay_importable_by_name():
    module = importlib.import_module("empathy_metrics.reliability")
    assert inspect.ismodule(module) and module.reliability is em.reliability
    from empathy_metrics.efa import parallel_analysis  # the module's other contents

    assert callable(parallel_analysis)
    from empathy_metrics import cfa

    assert inspect.isfunction(cfa)


def test_every_exported_name_is_listed_and_all_matches_the_lazy_table():
    assert sorted(em.__all__) == sorted(["__version__", *em._EXPORTS])
    assert sorted(dir(em)) == sorted(em.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        em.nope  # noqa: B018


def test_fresh_interpreter_import_is_light_and_names_are_functions_whatever_came_first():
    # Order of the issue: touch the name, import the module, touch again; heavy libraries are
    # only loaded on first use, so `import empathy_metrics` (and the CLI's --help) is fast.
    code = """
import sys, json, inspect
import empathy_metrics as em
light = not any(m in sys.modules for m in ("pandas", "numpy", "scipy", "matplotlib"))
first = type(em.reliability).__name__
import empathy_metrics.reliability, empathy_metrics.efa, empathy_metrics.cfa
import empathy_metrics.simulate
out = {n: [type(getattr(em, n)).__name__, str(inspect.signature(getattr(em, n)))]
       for n in ("reliability", "efa", "cfa", "simulate")}
print(json.dumps({"light": light, "first": first, "after": out}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["light"] is True
    assert got["first"] == "function"
    for name, (kind, sig) in got["after"].items():
        assert kind == "function", name
        assert "*args" not in sig, (name, sig)


def test_help_shows_the_function_docstring():
    import empathy_metrics.efa  # noqa: F401 - the import that used to shadow the function

    text = inspect.getdoc(em.efa)
    assert text.startswith(inspect.getdoc(importlib.import_module("empathy_metrics.efa").efa))


def test_readme_python_section_shows_the_new_api():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python\n"):text.index("## Privacy\n")]
    assert "em.compare_groups(" in section
    assert "em.load_instrument({" in section
    assert 'em.reliability(data, ["' in section  # a list of columns
    assert "%matplotlib" not in section.replace("no %matplotlib", "")
