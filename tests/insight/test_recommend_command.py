"""``recommend_levels --from-folder DIR``: the folder contract a benchmark drives.

These tests have no ``db`` fixture: pytest-django fails any database access, which proves
the command runs without a database.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

AS_OF = date(2025, 2, 1)
ITEMS = "sku,site,release_policy,pack_multiple,lead_time_days,unit_price,created\n"


def _folder(tmp_path: Path, **override: str) -> Path:
    rng = np.random.default_rng(4)
    start = AS_OF - timedelta(days=200)
    history = ["sku,date,quantity,on_hand_after"]
    for i in range(200):
        day = (start + timedelta(days=i)).isoformat()
        q = int(rng.poisson(3))
        if q:
            history.append(f"A-1,{day},{q},{40 if i % 30 else 0}")
        if i % 9 == 0:
            history.append(f"B-2,{day},{int(rng.integers(5, 30))},12")
    files = {
        "as_of.txt": AS_OF.isoformat() + "\n",
        "items.csv": ITEMS
        + f"A-1,S1,auto,10,4,1.25,{start}\n"
        + f"B-2,S1,approval,25,7,0.40,{start}\n"
        + f"C-3,S2,scheduled,6,2,9.99,{start}\n",
        "history.csv": "\n".join(history) + "\n",
        "receipts.csv": "sku,ordered,received,quantity\n"
        "A-1,2024-11-01,2024-11-08,30\nA-1,2024-12-01,2024-12-06,40\n",
    }
    files.update(override)
    for name, text in files.items():
        if text is not None:
            (tmp_path / name).write_text(text)
    return tmp_path


def _read(path: Path) -> list[dict[str, str]]:
    with (path / "recommendations.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_writes_integer_levels_in_whole_packs_without_a_database(tmp_path):
    folder = _folder(tmp_path)
    call_command("recommend_levels", from_folder=str(folder), verbosity=0)
    rows = _read(folder)
    assert list(rows[0]) == ["sku", "min", "max"]
    levels = {r["sku"]: (int(r["min"]), int(r["max"])) for r in rows}
    packs = {"A-1": 10, "B-2": 25, "C-3": 6}
    assert set(levels) == set(packs)
    for sku, (mn, mx) in levels.items():
        assert 0 <= mn <= mx
        assert mx % packs[sku] == 0
    assert levels["C-3"] == (0, 0)  # no demand
    assert levels["A-1"][1] > 0 and levels["B-2"][1] > 0


def test_same_folder_gives_the_same_file(tmp_path):
    folder = _folder(tmp_path)
    call_command("recommend_levels", from_folder=str(folder), verbosity=0)
    first = (folder / "recommendations.csv").read_bytes()
    call_command("recommend_levels", from_folder=str(folder), verbosity=0)
    assert (folder / "recommendations.csv").read_bytes() == first


def test_a_higher_target_fill_never_lowers_min(tmp_path):
    folder = _folder(tmp_path)
    call_command("recommend_levels", from_folder=str(folder), verbosity=0, target_fill=0.9)
    low = {r["sku"]: int(r["min"]) for r in _read(folder)}
    call_command("recommend_levels", from_folder=str(folder), verbosity=0, target_fill=0.995)
    high = {r["sku"]: int(r["min"]) for r in _read(folder)}
    assert all(high[s] >= low[s] for s in low)
    assert high["A-1"] > low["A-1"]


BAD = [
    ({"as_of.txt": None}, "missing_file"),
    ({"as_of.txt": "01/02/2025\n"}, "bad_date"),
    ({"items.csv": None}, "missing_file"),
    ({"items.csv": "sku,site,pack\nA,S,1\n"}, "bad_header"),
    ({"items.csv": ""}, "bad_header"),
    ({"items.csv": ITEMS + "A-1,S1,weekly,10,4,1.25,2024-07-01\n"}, "bad_release_policy"),
    ({"items.csv": ITEMS + "A-1,S1,auto,0,4,1.25,2024-07-01\n"}, "bad_number"),
    ({"items.csv": ITEMS + "A-1,S1,auto,ten,4,1.25,2024-07-01\n"}, "bad_number"),
    ({"items.csv": ITEMS + "A-1,S1,auto,10,4,-1,2024-07-01\n"}, "bad_number"),
    ({"items.csv": ITEMS + "A-1,S1,auto,10,4,nan,2024-07-01\n"}, "bad_number"),
    ({"items.csv": ITEMS + "A-1,S1,auto,10,4,1.25,2024-13-01\n"}, "bad_date"),
    ({"items.csv": ITEMS + "A-1,S1,auto,10,4,1.25\n"}, "bad_row"),
    (
        {"items.csv": ITEMS + "A-1,S1,auto,10,4,1,2024-07-01\nA-1,S1,auto,10,4,1,2024-07-01\n"},
        "duplicate_sku",
    ),
    ({"history.csv": "sku,date,quantity,on_hand_after\nZ-9,2025-01-05,1,3\n"}, "unknown_sku"),
    (
        {"history.csv": "sku,date,quantity,on_hand_after\nA-1,2025-02-01,1,3\n"},
        "history_after_as_of",
    ),
    ({"history.csv": "sku,date,quantity,on_hand_after\nA-1,2025-01-05,-2,3\n"}, "bad_number"),
    ({"receipts.csv": None}, "missing_file"),
    (
        {"receipts.csv": "sku,ordered,received,quantity\nA-1,2025-01-09,2025-01-05,3\n"},
        "bad_receipt",
    ),
    (
        {"receipts.csv": "sku,ordered,received,quantity\nA-1,2025-01-09,2025-02-05,3\n"},
        "receipt_after_as_of",
    ),
]


@pytest.mark.parametrize(("override", "code"), BAD)
def test_malformed_folder_fails_with_a_stable_code_and_writes_nothing(tmp_path, override, code):
    folder = _folder(tmp_path, **override)
    with pytest.raises(CommandError) as exc:
        call_command("recommend_levels", from_folder=str(folder), verbosity=0)
    assert str(exc.value).startswith(f"error {code}")
    assert exc.value.returncode == 2
    assert not (folder / "recommendations.csv").exists()
    assert not list(folder.glob(".recommendations-*"))


def test_error_names_the_file_and_line(tmp_path):
    folder = _folder(
        tmp_path,
        **{"history.csv": "sku,date,quantity,on_hand_after\nA-1,2025-01-05,1,3\nA-1,x,1,3\n"},
    )
    with pytest.raises(CommandError, match=r"error bad_date history.csv:3: date 'x'"):
        call_command("recommend_levels", from_folder=str(folder), verbosity=0)


def test_missing_folder_and_bad_target(tmp_path):
    with pytest.raises(CommandError, match="error missing_folder"):
        call_command("recommend_levels", from_folder=str(tmp_path / "nope"), verbosity=0)
    with pytest.raises(CommandError, match="error bad_target_fill"):
        call_command(
            "recommend_levels", from_folder=str(_folder(tmp_path)), verbosity=0, target_fill=1.5
        )
