"""Plan files validate, and their red-line figures are the ones printed in the seed texts."""
import shutil

import pytest
import yaml

from conftest import ADCODES, ROOT, SEEDS
from geo.errors import ConfigError
from geo.plans import load_plan, load_plans

# Read off the seed texts by hand: (seed file, stated red-line area km², stated share %)
REDLINE_FIGURES = {
    "500152": ("000_e0f9872c43448650.txt", None, 5.37),
    "500110": ("001_dda722a4fc8b87b5.txt", 166.59, 7.62),
    "500235": ("002_21083c09719ab955.txt", 1153.69, 31.72),
    "500111": ("003_f92353683da60ed2.txt", 100.27, 6.99),
    "500102": ("004_092d2b06bdc2e390.txt", None, 9.3),
}


@pytest.fixture(scope="module")
def plans():
    return load_plans(ROOT / "data" / "plans")


def seed_line(seed, line):
    return (SEEDS / seed).read_text(encoding="utf-8").splitlines()[line - 1]


def test_all_five_districts(plans):
    assert sorted(plans) == sorted(ADCODES)


@pytest.mark.parametrize("adcode", ADCODES)
def test_redline_figures_match_seed(plans, adcode):
    seed, area, share = REDLINE_FIGURES[adcode]
    plan = plans[adcode]
    assert plan["seed"] == seed
    assert plan["redline"]["area_km2"] == area
    assert plan["redline"]["share_pct"] == share
    share_line = seed_line(seed, plan["redline"]["source"]["line"])
    assert f"{share:g}" in share_line.replace(" ", ""), f"{share} not on the cited line {share_line!r}"
    if area is not None:
        area_line = seed_line(seed, plan["redline"].get("area_source", plan["redline"]["source"])["line"])
        assert f"{area:g}" in area_line.replace(" ", ""), f"{area} not on the cited line {area_line!r}"


@pytest.mark.parametrize("adcode", ADCODES)
def test_every_cited_quote_is_on_its_line(plans, adcode):
    plan = plans[adcode]
    lines = (SEEDS / plan["seed"]).read_text(encoding="utf-8").splitlines()

    def walk(node, path="plan"):
        if isinstance(node, dict):
            if "line" in node and "quote" in node and isinstance(node["line"], int):
                assert node["quote"] in lines[node["line"] - 1], f"{path}: quote not on line {node['line']}"
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(plan)


def test_forest_cover_targets(plans):
    """森林覆盖率 2025 targets as printed (facts README cross-checked with the seeds)."""
    want = {"500152": "45", "500110": "55", "500235": "60", "500111": "50", "500102": "55"}
    for adcode, target in want.items():
        ind = next(i for i in plans[adcode]["indicators"] if i.get("key") == "forest_cover")
        assert target in ind["target_2025"]


def test_broken_plan_names_file_and_field(tmp_path):
    src = ROOT / "data" / "plans" / "500110.yaml"
    plan = yaml.safe_load(src.read_text(encoding="utf-8"))
    plan["redline"]["share_pct"] = "七点六二"
    bad = tmp_path / "500110.yaml"
    bad.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_plan(bad)
    assert info.value.field == "redline/share_pct"
    assert "500110.yaml" in str(info.value)


def test_plan_with_wrong_adcode_is_refused(tmp_path):
    shutil.copy(ROOT / "data" / "plans" / "500110.yaml", tmp_path / "500111.yaml")
    with pytest.raises(ConfigError) as info:
        load_plan(tmp_path / "500111.yaml")
    assert info.value.field == "adcode"
