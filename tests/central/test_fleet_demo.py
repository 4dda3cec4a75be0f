"""``interdict demo --fleet``: its own PostgreSQL and service, two stations, the fentanyl
parcel's record read at central; everything it started is stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.cli import main


def test_fleet_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--fleet", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0, out
    record = out[out.index("[7]"):]
    assert "CP118543022IN" in record and "hold INSPECTED" in record
    assert "inspected at jfk-imf-a" in record and "ALERT Fentanyl" in record
    for name in ("jfk-imf-a", "jfk-imf-b"):  # each chain signed by its station's own key
        assert f"central holds {name}'s chain up to signed head" in record
    assert record.count("signed by its registered key") == 2
    assert "(first-push)" in record
    assert "service and PostgreSQL stopped" in out


@pytest.mark.parametrize("argv", [["demo", "--fleet"], ["serve", "--db", "postgresql://x/y"]])
def test_without_the_central_extra_it_says_how_to_get_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        argv: list[str]) -> None:
    """A laptop without ``interdict[central]``: one error line naming the extra, not a
    traceback of an ImportError."""
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "fastapi" else find_spec(name, *a))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == (f"interdict {argv[0]}: the central service needs fastapi — install its "
                   "extra: pip install 'interdict[central]'\n")
    assert not (tmp_path / "demo-out").exists()  # nothing was started or written
