"""`dutydesk simulate`, run like a lead runs it: the command line, its text and its CSV.

A small desk keeps the runs fast: a Moscow day engineer, one night engineer (evenings,
nights, weekends), a 24/7 customer writing in English round the clock and an 8/5 customer
writing in Russian.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.app.cli import main
from bot.app.config import ConfigError, parse_config
from bot.simulate.overlay import cli_overlay, deep_merge, scenario

CONFIG = """
[desk]
timezone = "Europe/Moscow"
languages = ["en", "ru"]
default_plan = "8x5"

[calendars.moscow_8x5]
timezone = "Europe/Moscow"
hours = { "mon-fri" = "10:00-19:00" }

[plans."8x5"]
calendar = "moscow_8x5"
first_response = "1h"
resolution = "16h"

[plans."24x7"]
calendar = "24/7"
first_response = "1h"
resolution = "24h"

[shifts.day]
timezone = "Europe/Moscow"
hours = { "mon-fri" = "09:00-19:00" }
holidays = false

[shifts.night]
timezone = "Europe/Moscow"
hours = { "mon-fri" = "19:00-09:00", "sat-sun" = "09:00-09:00" }
holidays = false

[[engineers]]
id = "anna"
name = "Anna"
languages = ["ru", "en"]
timezone = "Europe/Moscow"
shift = "day"
max_open = 50

[[engineers]]
id = "nick"
name = "Nick"
languages = ["en"]
timezone = "Europe/Moscow"
shift = "night"
max_open = 50

[[organisations]]
id = "bank"
name = "Bank"
plan = "24x7"
language = "en"
timezone = "Europe/Moscow"

[[organisations]]
id = "shop"
name = "Shop"
plan = "8x5"
language = "ru"
timezone = "Europe/Moscow"
"""

RATES = """hour_of_week,plan,language,priority,rate
*,24x7,en,P3,{night}
*,8x5,ru,P3,{day}
"""


@pytest.fixture
def desk_files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "desk.toml"
    config.write_text(CONFIG, encoding="utf-8")
    rates = tmp_path / "rates.csv"
    rates.write_text(RATES.format(night=0.25, day=0.15), encoding="utf-8")
    return config, rates


def simulate(config: Path, source: list[str], out: Path, *extra: str, weeks: int = 1) -> dict[tuple[str, str, str], list[str]]:
    """Run the command; its CSV as {(section, group, metric): [baseline, what-if]}."""
    code = main(["simulate", "--config", str(config), *source, "--from", "2026-11-02",
                 "--weeks", str(weeks), "--csv", str(out), *extra])
    assert code == 0
    with out.open(encoding="utf-8") as f:
        return {(r[0], r[1], r[2]): r[3:] for r in list(csv.reader(f))[1:]}


def share(figures: dict[tuple[str, str, str], list[str]], group: str, clock: str, column: int = 0) -> float:
    return float(figures[("sla met", group, clock)][column])


def test_the_same_seed_gives_the_same_run(desk_files: tuple[Path, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    config, rates = desk_files
    first = simulate(config, ["--arrivals", str(rates)], tmp_path / "a.csv", "--seed", "7")
    first_text = capsys.readouterr().out
    second = simulate(config, ["--arrivals", str(rates)], tmp_path / "b.csv", "--seed", "7")
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert capsys.readouterr().out.replace("b.csv", "a.csv") == first_text
    assert int(first[("tickets", "all", "count")][0]) > 30
    other = simulate(config, ["--arrivals", str(rates)], tmp_path / "c.csv", "--seed", "8")
    assert other != second  # the seed is what decides


def test_without_the_night_engineer_24x7_first_responses_drop_and_a_new_one_brings_them_back(
    desk_files: tuple[Path, Path], tmp_path: Path,
) -> None:
    config, rates = desk_files
    source = ["--arrivals", str(rates), "--seed", "3"]
    without = simulate(config, source, tmp_path / "without.csv", "--remove-engineer", "nick")
    base, gone = share(without, "24x7 all", "first response", 0), share(without, "24x7 all", "first response", 1)
    assert base >= 80, without
    assert gone <= base - 30, (base, gone)  # at night and at weekends nobody reads the 24/7 chats
    replaced = simulate(config, source, tmp_path / "replaced.csv",
                        "--remove-engineer", "nick", "--add-engineer", "sam:night:en")
    back = share(replaced, "24x7 all", "first response", 1)
    assert back >= base - 5, (base, back)
    assert int(replaced[("load", "sam", "given")][1]) > 0
    assert replaced[("load", "nick", "given")][1] == "—"


def test_re_simulating_a_simulated_history_gives_its_figures_back(desk_files: tuple[Path, Path], tmp_path: Path) -> None:
    config, rates = desk_files
    kept = tmp_path / "history.db"
    rates.write_text(RATES.format(night=2.0, day=1.0), encoding="utf-8")
    # Handling times that vary less than the defaults: the figures then depend on the desk
    # (shifts, coverage, capacity) rather than on the luck of a few hundred draws.
    handling = ["--take", "0m", "--answer", "20m/30m", "--resolve", "3h/8h"]
    original = simulate(config, ["--arrivals", str(rates), "--seed", "5"], tmp_path / "a.csv",
                        "--keep-db", str(kept), "--capacity", "50", *handling)
    again = simulate(config, ["--history", str(kept), "--seed", "6"], tmp_path / "b.csv", "--capacity", "50")
    for clock in ("first response", "resolution"):
        for group in ("all all", "24x7 all", "8x5 all"):
            was, now = share(original, group, clock), share(again, group, clock)
            assert abs(was - now) <= 2, (group, clock, was, now)
    tickets = int(original[("tickets", "all", "count")][0])
    assert abs(int(again[("tickets", "all", "count")][0]) - tickets) < 0.2 * tickets


def test_an_overlay_changes_a_target_and_adds_customers(desk_files: tuple[Path, Path], tmp_path: Path) -> None:
    config, rates = desk_files
    overlay = tmp_path / "whatif.toml"
    overlay.write_text('[plans."24x7"]\nfirst_response = "5m"\n\n[simulate]\nadd_orgs = { "24x7" = 2 }\n')
    figures = simulate(config, ["--arrivals", str(rates), "--seed", "4"], tmp_path / "o.csv", "--what-if", str(overlay))
    base_tickets, more_tickets = (int(x) for x in figures[("tickets", "all", "count")])
    assert more_tickets > base_tickets * 1.5  # two more 24/7 customers, each writing like the first
    assert share(figures, "24x7 all", "first response", 1) < share(figures, "24x7 all", "first response", 0) - 20


def test_what_ifs_merge_onto_the_config_by_id() -> None:
    raw = {"engineers": [{"id": "a", "name": "A", "shift": "day"}, {"id": "b", "name": "B"}],
           "rotations": [{"name": "r", "shift": "day", "members": ["a", "b"], "start": "2026-01-05"}]}
    merged = deep_merge(raw, cli_overlay(shifts=["a=night"], add=["c:night:en,ru"]))
    assert [e["id"] for e in merged["engineers"]] == ["a", "b", "c"]
    assert merged["engineers"][0] == {"id": "a", "name": "A", "shift": "night"}
    assert merged["engineers"][2]["languages"] == ["en", "ru"]
    assert raw["engineers"][0]["shift"] == "day"  # the original is untouched
    assert cli_overlay(targets=["premium.P1.resolution=2h"]) == {
        "plans": {"premium": {"priorities": {"P1": {"resolution": "2h"}}}}}


def test_removing_an_engineer_takes_them_off_rotations_and_dedicated_roles(tmp_path: Path) -> None:
    from bot.app.config import load_config

    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    import tomllib

    raw = tomllib.loads(example.read_text(encoding="utf-8"))
    result = scenario(raw, cli_overlay(remove=["john", "lars"]), source="x", base_dir=tmp_path)
    assert {e.id for e in result.config.engineers}.isdisjoint({"john", "lars"})
    assert [r.members for r in result.config.rotations] == [["priya"]]
    acme = next(o for o in result.config.organisations if o.id == "acme")
    assert acme.dedicated is None and acme.backup is None
    assert load_config(example).engineers  # the file itself is unchanged
    parse_config(raw)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--remove-engineer", "nobody"], 'no engineer "nobody" to remove'),
        (["--add-engineer", "sam"], "ID:SHIFT:LANGUAGES"),
        (["--add-orgs", "gold:2"], 'no organisation on plan "gold"'),
        (["--target", "8x5.first_response=soon"], "first_response"),
    ],
)
def test_bad_what_ifs_are_refused_with_what_to_write(
    desk_files: tuple[Path, Path], args: list[str], message: str, capsys: pytest.CaptureFixture[str],
) -> None:
    config, rates = desk_files
    code = main(["simulate", "--config", str(config), "--arrivals", str(rates), "--from", "2026-11-02", *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_keep_db_never_overwrites_a_database(desk_files: tuple[Path, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    config, rates = desk_files
    existing = tmp_path / "dutydesk.db"
    existing.write_bytes(b"precious")
    code = main(["simulate", "--config", str(config), "--arrivals", str(rates), "--from", "2026-11-02",
                 "--keep-db", str(existing)])
    assert code == 2
    assert "exists" in capsys.readouterr().err
    assert existing.read_bytes() == b"precious"


def test_a_bad_rates_file_names_its_line(desk_files: tuple[Path, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = desk_files
    rates = tmp_path / "bad.csv"
    rates.write_text("hour_of_week,plan,language,priority,rate\n200,8x5,ru,P3,1\n")
    assert main(["simulate", "--config", str(config), "--arrivals", str(rates), "--from", "2026-11-02"]) == 2
    assert "bad.csv:2" in capsys.readouterr().err


def test_the_chart_is_a_png(desk_files: tuple[Path, Path], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    config, rates = desk_files
    chart = tmp_path / "chart.png"
    simulate(config, ["--arrivals", str(rates)], tmp_path / "c.csv", "--chart", str(chart), "--remove-engineer", "nick")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_config_errors_stay_config_errors() -> None:
    with pytest.raises(ConfigError):
        cli_overlay(add_orgs=["premium"])
