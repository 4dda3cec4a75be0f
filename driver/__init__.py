"""The analyzer driver: transport (any pyserial URL), wire protocol, Analyzer API, simulator."""
