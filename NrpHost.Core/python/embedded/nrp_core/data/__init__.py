"""Datapack types of the nrp-core-compatible API (``nrp_core.data.nrp_json``)."""
