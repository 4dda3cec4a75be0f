"""One CLI: every command and flag described in plain terminal text, each command listing its
own exit codes from the one table, ``--json`` wherever a script would call, one way to name
the acting person, and the table in the docs the same as in the code."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.cli import build_parser, main
from station.commands.device import simulate_parser
from station.exit_codes import KINDS, MEANINGS, ExitCode

ROOT = Path(__file__).resolve().parents[2]
REST = re.compile(r"``|::|:(mod|func|class|meth|data|attr):|^\s*={3,}", re.M)
# what a script does not call for data: the whole demo, the simulator process, and an export
# whose output is the data itself
NO_JSON = {"interdict demo", "interdict simulate", "interdict parcel export",
           "interdict identify"}  # identify: --format json


def parsers() -> Iterator[tuple[argparse.ArgumentParser, str]]:
    """Every parser of the tree with the help line its parent gives it."""
    def walk(p: argparse.ArgumentParser, help_line: str
             ) -> Iterator[tuple[argparse.ArgumentParser, str]]:
        yield p, help_line
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help or "" for a in action._choices_actions}
                for name, child in action.choices.items():
                    if name != "simulate":  # run with the simulator's own parser, below
                        yield from walk(child, helps.get(name, ""))
    yield from walk(build_parser(), "the interdict command")
    yield simulate_parser(), "a simulated analyzer"


def leaves() -> list[argparse.ArgumentParser]:
    return [p for p, _ in parsers()
            if not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)]


def listed_codes(parser: argparse.ArgumentParser) -> set[int]:
    text = (parser.epilog or "").split("exit codes", 1)[-1]
    return {int(m) for m in re.findall(r"^\s+(\d+)\s", text, flags=re.M)}


def test_every_command_and_flag_is_described_in_terminal_text() -> None:
    seen = 0
    for p, help_line in parsers():
        assert (p.description or help_line).strip(), f"{p.prog}: no description"
        for text in (p.description, p.epilog, help_line, p.format_help()):
            assert not REST.search(text or ""), f"{p.prog}: reST in {text!r:.200}"
        for a in p._actions:
            if a.help == argparse.SUPPRESS or isinstance(a, argparse._SubParsersAction):
                continue
            assert a.help and a.help.strip(), f"{p.prog} {a.option_strings or a.dest}: no help"
            seen += 1
    assert seen > 150  # the walk reached the whole tree


def test_each_command_lists_its_own_exit_codes_from_the_one_table() -> None:
    for p in leaves():
        codes = listed_codes(p)
        assert codes, f"{p.prog}: its --help lists no exit codes"
        assert codes <= {int(c) for c in ExitCode}
        for c in codes:  # the words are the table's
            assert MEANINGS[ExitCode(c)] in (p.epilog or "")
    by_prog = {p.prog: listed_codes(p) for p in leaves()}
    assert by_prog["interdict devices"] == {0, 2, 4}
    assert by_prog["interdict simulate"] == {0, 2}  # not acquire's
    assert by_prog["interdict acquire"] == {0, 1, 2, 4}
    assert by_prog["interdict scan"] == {0, 1, 2, 4, 5, 10, 11, 130}
    assert listed_codes(build_parser()) == {int(c) for c in ExitCode}


def test_json_wherever_a_script_would_call() -> None:
    missing = [p.prog for p in leaves() if p.prog not in NO_JSON
               and not any("--json" in a.option_strings for a in p._actions)]
    assert missing == []


def test_one_way_to_name_the_acting_person() -> None:
    for p in leaves():
        flags = {s for a in p._actions for s in a.option_strings}
        assert "--by" not in flags or "--operator" in flags, p.prog
        hidden = [a for a in p._actions if "--by" in a.option_strings]
        assert all(a.help == argparse.SUPPRESS and a.dest == "operator" for a in hidden)
    writers = ("import", "hold", "release", "seize", "refer", "not-found", "export")
    for p in leaves():
        if p.prog.split()[-1] in writers or p.prog in ("interdict scan", "interdict watch",
                                                       "interdict report",
                                                       "interdict reidentify"):
            assert any("--operator" in a.option_strings for a in p._actions), p.prog


def test_by_still_works_and_says_it_is_deprecated(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from tests.station.conftest import AED_BATCH

    db = tmp_path / "e.db"
    assert main(["parcel", "import", str(AED_BATCH), "--db", str(db), "--by", "feed",
                 "--json"]) == 0
    assert "--by is deprecated — use --operator" in capsys.readouterr().err
    assert main(["audit", "log", "--db", str(db), "--json"]) == 0
    assert '"actor": "feed"' in capsys.readouterr().out


def test_every_error_kind_names_a_real_class() -> None:
    import importlib

    for module, name in KINDS:
        cls = getattr(importlib.import_module(module), name)
        assert isinstance(cls, type) and issubclass(cls, BaseException), (module, name)


def test_docs_hold_the_same_exit_code_table() -> None:
    text = (ROOT / "docs" / "station.md").read_text(encoding="utf-8")
    section = text[text.index("## Exit codes"):]
    rows = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", section, flags=re.M))
    assert {int(k): v for k, v in rows.items()} == {int(c): m for c, m in MEANINGS.items()}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert re.fullmatch(r"interdict \d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_a_reader_that_stops_early_gets_no_traceback_and_no_error_line(tmp_path: Path) -> None:
    """``interdict parcel list | head -1``: the reader closing the pipe is not an error to
    report (it used to print "[Errno 32] Broken pipe — check the path and its permissions")."""
    import os
    import subprocess
    import sys

    db = tmp_path / "e.db"
    aed = Path(__file__).resolve().parents[2] / "fixtures" / "aed" / "sample_batch.jsonl"
    assert main(["parcel", "import", str(aed), "--db", str(db), "--operator", "t"]) == 0
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    try:
        p = subprocess.run([sys.executable, "-m", "station.cli", "parcel", "list", "--db",
                            str(db)], stdout=write, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "INTERDICT_OPERATOR": "t"}, check=False)
    finally:
        os.close(write)
    assert p.stderr == ""
    assert p.returncode == ExitCode.ERROR
