"""Interdict Central: many stations, one record.

The fleet's central service (``interdict serve``): a PostgreSQL store
(:mod:`parcels.store.postgres`), an HTTP API (:mod:`central.app`) with credentials and roles
(:mod:`central.auth`), served by uvicorn (:mod:`central.serve`). Stations sync to it with
``interdict sync`` (:mod:`station.workflows.sync`, standard library only). Needs the
``central`` extra (``pip install interdict[central]``); see ``docs/central.md``.
"""
