"""The layering contract in pyproject.toml ([tool.importlinter]) holds: lower layers never import higher ones."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
FIX = (
    "a lower layer imports a higher one: move the shared code down (into common/), or let the higher "
    "app register a hook in its AppConfig.ready() that the lower one calls (STYLE.md, the layout)"
)


def _lint_imports(*config_files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", *map(str, config_files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_layering_contract_in_pyproject_is_kept():
    result = _lint_imports()
    assert result.returncode == 0, f"{FIX}.\n{result.stdout}\n{result.stderr}"
    assert "0 broken" in result.stdout, result.stdout


def test_the_layer_check_fails_when_a_module_imports_what_its_contract_forbids(tmp_path):
    # common.api imports Django, so this contract is broken: the check above would report it.
    config = tmp_path / "broken.toml"
    config.write_text(
        "[tool.importlinter]\n"
        'root_packages = ["common"]\n'
        "include_external_packages = true\n"
        "[[tool.importlinter.contracts]]\n"
        'name = "common imports no Django"\n'
        'type = "forbidden"\n'
        'source_modules = ["common"]\n'
        'forbidden_modules = ["django"]\n'
    )
    result = _lint_imports(config)
    assert result.returncode != 0, result.stdout
    assert "common imports no Django BROKEN" in result.stdout, result.stdout
    assert "common.api -> django" in result.stdout, result.stdout



def test_every_package_of_the_product_is_a_layer_so_none_escapes_the_direction_rule():
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    config = pyproject["tool"]["importlinter"]
    (layers,) = [contract["layers"] for contract in config["contracts"] if contract["type"] == "layers"]
    packaged = set(pyproject["tool"]["setuptools"]["packages"]["find"]["include"])
    product = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests", "bench", "scripts"}
    assert set(layers) == set(config["root_packages"]) == product, (layers, product)
    assert packaged == {f"{name}*" for name in product}, packaged
