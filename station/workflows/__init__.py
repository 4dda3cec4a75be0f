"""The station's workflows: scan a parcel, watch for trigger presses, build evidence reports.

The command modules (:mod:`station.commands.scan`, :mod:`station.commands.demo`) are thin:
they parse options and call these.
"""
