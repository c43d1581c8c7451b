"""The package's shape, checked: the import contract, imports at module level, module sizes,
the outputs table of the README generated from the registry, the plan against the registry,
and `snakemake --lint` on the workflow."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sinks.io.outputs import OUTPUTS, readme_table
from sinks.plan import INSTANCES, PREDICATES, RULES

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "sinks"


def test_import_contract_holds():
    # pyproject.toml [tool.importlinter]: every layer imports only the layers below it.
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_no_hidden_function_local_imports_of_sinks_modules():
    # A function-local import of a sinks module hides a dependency from the contract: allowed
    # only when loading on demand is the point, and then the line says so.
    offenders = []
    for path in SRC.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"^\s+(from sinks\b|import sinks\b)", line) and "# on demand" not in line:
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_no_module_is_a_god_module():
    sizes = {p.relative_to(SRC): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    big = {str(p): n for p, n in sizes.items() if n > 600}
    assert not big, big
    assert not (SRC / "stages.py").exists() and not (SRC / "report.py").exists()


def test_readme_outputs_table_is_generated_from_the_registry():
    # Regenerate with: python -c "from sinks.io.outputs import readme_table; print(readme_table())"
    assert readme_table() in (REPO / "README.md").read_text()


def test_every_output_kind_names_a_rule_a_predicate_an_expansion_and_a_citation():
    for kind, spec in OUTPUTS.items():
        assert spec.rule in RULES, kind
        assert spec.created_if in PREDICATES, kind
        assert spec.each in INSTANCES, kind
        if spec.is_map:
            assert spec.citation and spec.valid_range, kind
            assert spec.valid_range[0] < spec.valid_range[1], kind
        wildcards = set(RULES[spec.rule].wildcards)
        fields = set(re.findall(r"{(\w+)}", spec.pattern))
        assert wildcards <= fields, (kind, wildcards, fields)


def test_map_citations_are_not_the_land_cover_legend_sentence():
    # The old name-prefix rule gave agb, sink_potential, inundation_frequency and the
    # uncertainty maps the legend's sentence as their citation.
    for kind in ("agb", "agb_low", "agb_high", "sink_potential", "inundation_frequency",
                 "net_sink_sd", "gain_loss_net_p2_5"):
        assert "legend" not in OUTPUTS[kind].citation, kind


@pytest.mark.workflow
def test_snakemake_lint_is_clean():
    snakemake = Path(sys.executable).with_name("snakemake")
    out = subprocess.run([str(snakemake), "--lint", "--config", "sinks_config=config/config.yaml"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Congratulations, your workflow is in a good condition" in out.stdout + out.stderr
