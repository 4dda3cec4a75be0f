"""``interdict library build|info|list|add|merge`` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import spectra
from matcher.library import Library
from station.cli import main

from .test_library_data import PIPELINE, raw_spectra


def _write_folder(folder: Path, n: int = 4, *, index: bool = True, seed: int = 0) -> list[Path]:
    folder.mkdir()
    files = []
    for i, s in enumerate(raw_spectra(n, seed)):
        files.append(spectra.write(s, folder / f"ref_{i}.csv"))
    if index:
        (folder / "index.csv").write_text(
            "file,name,cas,category,technique\n"
            "ref_0.csv,Ethanol,64-17-5,hazardous,raman\n"
            "ref_1.csv,Caffeine,58-08-2,cutting-agent,raman\n"
            "ref_2.csv,Cocaine HCl,,controlled,raman\n"
            + "".join(f"ref_{i}.csv,Thing {i},,,raman\n" for i in range(3, n)),
            encoding="utf-8",
        )
    return files


def _pipeline_file(tmp_path: Path) -> Path:
    p = tmp_path / "pipeline.json"
    p.write_text(PIPELINE.model_dump_json(), encoding="utf-8")
    return p


def test_build_info_list_from_a_folder_with_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_folder(tmp_path / "refs")
    out = tmp_path / "lib.ilib"
    code = main(["library", "build", str(tmp_path / "refs"), "-o", str(out),
                 "--pipeline", str(_pipeline_file(tmp_path)), "--axis", "200:1796:4",
                 "--id", "my-lib"])
    assert code == 0, capsys.readouterr().err
    lib = Library.load(out)
    assert lib.id == "my-lib" and len(lib) == 4 and lib.pipeline == PIPELINE
    assert [e.name for e in lib.entries] == ["Ethanol", "Caffeine", "Cocaine HCl", "Thing 3"]
    assert lib.entries[0].cas == "64-17-5" and lib.entries[2].category.value == "controlled"
    assert lib.reference(1).technique.value == "raman"
    capsys.readouterr()

    assert main(["library", "info", str(out), "--json", "--verify"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["verified"] and info["libraries"][0]["hash"] == lib.hash
    assert info["libraries"][0]["categories"] == {
        "controlled": 1, "cutting-agent": 1, "hazardous": 1, "unknown": 1}

    assert main(["library", "list", str(out), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["id"] for x in lines] == [e.id for e in lib.entries]

    assert main(["library", "list", str(out)]) == 0
    table = capsys.readouterr().out
    assert "Cocaine HCl" in table and "58-08-2" in table

    assert main(["library", "info", str(out)]) == 0
    assert lib.hash in capsys.readouterr().out


def test_build_without_index_uses_file_stems_and_needs_a_technique(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    x = np.arange(150.0, 1900.0, 2.0)
    rng = np.random.default_rng(0)
    for name in ("alpha", "beta"):
        y = 5 + np.exp(-((x - rng.uniform(300, 1500)) / 8) ** 2)
        lines = (f"{a},{b}\n" for a, b in zip(x, y, strict=True))
        (folder / f"{name}.txt").write_text("".join(lines))
    out = tmp_path / "plain.ilib"
    args = ["library", "build", str(folder), "-o", str(out), "--pipeline", "none",
            "--axis", "200:1800:2"]
    assert main(args) == 2
    assert "--technique" in capsys.readouterr().err
    assert not out.exists()
    assert main([*args, "--technique", "raman"]) == 0
    lib = Library.load(out)
    assert [e.id for e in lib.entries] == ["alpha", "beta"]
    assert lib.reference(0).x_unit.value == "raman-shift-cm-1"


def test_build_with_the_default_pipeline(tmp_path: Path) -> None:
    from matcher import defaults

    _write_folder(tmp_path / "refs", 3)
    out = tmp_path / "d.ilib"
    assert main(["library", "build", str(tmp_path / "refs"), "-o", str(out)]) == 0
    lib = Library.load(out)
    assert lib.pipeline == defaults.pipeline_for("raman")
    np.testing.assert_array_equal(lib.axis, defaults.axis_for("raman"))


def test_add_and_merge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_folder(tmp_path / "refs")
    base = tmp_path / "base.ilib"
    common = ["--pipeline", str(_pipeline_file(tmp_path)), "--axis", "200:1796:4"]
    assert main(["library", "build", str(tmp_path / "refs"), "-o", str(base), *common]) == 0
    before = Library.load(base).hash
    user_file = spectra.write(raw_spectra(1, seed=42)[0], tmp_path / "mine.csv")

    # a bad CAS number: nothing is written
    assert main(["library", "add", str(base), str(user_file), "--name", "Mine",
                 "--cas", "64-17-4"]) == 2
    assert "check digit" in capsys.readouterr().err
    assert Library.load(base).hash == before

    assert main(["library", "add", str(base), str(user_file), "--name", "My sample",
                 "--id", "user-1", "--category", "benign"]) == 0
    lib = Library.load(base)
    assert len(lib) == 5 and lib.entries[4].id == "user-1"
    assert lib.reference(4) == spectra.read(user_file)[0].replace(source=str(user_file))

    # the same id again: refused, file unchanged
    after_add = lib.hash
    assert main(["library", "add", str(base), str(user_file), "--name", "x",
                 "--id", "user-1"]) == 1
    assert "user-1" in capsys.readouterr().err
    assert Library.load(base).hash == after_add

    _write_folder(tmp_path / "user", 2, seed=9, index=False)
    user = tmp_path / "user.ilib"
    assert main(["library", "build", str(tmp_path / "user"), "-o", str(user), *common,
                 "--technique", "raman"]) == 0
    merged = tmp_path / "merged.ilib"
    assert main(["library", "merge", str(base), str(user), "-o", str(merged),
                 "--id", "merged"]) == 0
    m = Library.load(merged)
    assert m.id == "merged" and len(m) == 7
    assert [e.id for e in m.entries][-2:] == ["ref_0", "ref_1"]
    # merging again clashes on ids
    assert main(["library", "merge", str(merged), str(user), "-o",
                 str(tmp_path / "x.ilib")]) == 1
    assert not (tmp_path / "x.ilib").exists()


def test_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.ilib"
    bad.write_bytes(b"not a library at all, just some bytes" * 4)
    assert main(["library", "info", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.ilib" in err and "not an Interdict library" in err
    assert main(["library", "build", str(tmp_path / "nope"), "-o", str(bad)]) == 2
    folder = tmp_path / "refs"
    _write_folder(folder, 2)
    (folder / "index.csv").write_text("file,name,cas\nref_0.csv,A,64-17-4\n")
    assert main(["library", "build", str(folder), "-o", str(tmp_path / "o.ilib"),
                 "--technique", "raman"]) == 1
    err = capsys.readouterr().err
    assert "index.csv:2" in err and "cas" in err
    assert not (tmp_path / "o.ilib").exists()
    with pytest.raises(SystemExit):
        main(["library"])


def test_build_names_a_stray_file_or_skips_and_lists_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A downloaded folder holds a README and a metadata table besides the spectra: the
    build stops naming the first, or with --skip-unreadable lists each with the reason (on
    stderr, and under 'skipped' in --json) and builds from the rest."""
    from .test_library_build import write_refs, write_strays

    folder = tmp_path / "downloaded"
    refs = write_refs(folder, 4)
    readme, table, npz = write_strays(folder)
    out = tmp_path / "lib.ilib"
    args = ["library", "build", str(folder), "-o", str(out), "--pipeline", "none",
            "--axis", "200:1800:2", "--technique", "raman", "--workers", "1"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert str(readme) in err and "--skip-unreadable" in err and not out.exists()
    assert main([*args, "--skip-unreadable", "--json"]) == 0
    cap = capsys.readouterr()
    summary = json.loads(cap.out)
    assert summary["entries"] == len(refs)
    assert [s["file"] for s in summary["skipped"]] == [str(readme), str(table), str(npz)]
    assert all(s["reason"] for s in summary["skipped"])
    for stray in (readme, table, npz):
        assert f"skipped {stray}" in cap.err
    assert [e.id for e in Library.load(out).entries] == [p.stem for p in refs]


def test_build_on_two_workers_writes_the_same_file_as_on_one(tmp_path: Path) -> None:
    folder = tmp_path / "refs"
    _write_folder(folder, 12)
    files = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.ilib"
        assert main(["library", "build", str(folder), "-o", str(out), "--pipeline",
                     str(_pipeline_file(tmp_path)), "--axis", "200:1800:2",
                     "--workers", workers, "--quiet"]) == 0
        files.append(out.read_bytes())
    assert files[0] == files[1]
