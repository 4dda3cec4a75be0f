"""Packaging details ``pyproject.toml`` cannot say: the embedded defaults in ``fixtures/`` are
shipped inside the ``station`` package, as ``station.fixtures`` (package data), so that an
installed wheel finds its default libraries, sample AED batch and simulator scenario."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["spectra*", "driver*", "matcher*", "parcels*",
                                      "station*", "central*", "interdict*"]),
              "station.fixtures"],
    package_dir={"station.fixtures": "fixtures"},
)
