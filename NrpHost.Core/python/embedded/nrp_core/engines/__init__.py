"""Engine script base classes of the nrp-core-compatible API."""
