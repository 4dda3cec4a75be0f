"""The field station: workflows and the ``interdict`` command. The only place that wires the
other packages together."""
