"""The station's workflows: scan a parcel, watch for trigger presses, build evidence reports.

The command modules (:mod:`station.commands`) are thin: they parse options and call these.
"""
