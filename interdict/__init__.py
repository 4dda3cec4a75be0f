"""Interdict: drive handheld Raman/FTIR analyzers, identify what they measured, attach the
evidence to the parcel's record.

The code lives in five packages (``spectra``, ``driver``, ``matcher``, ``parcels``,
``station``); this one only makes ``python -m interdict`` run the ``interdict`` command.
"""
