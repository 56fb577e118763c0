"""JSON datapacks: ``JsonDataPack(name, engine_name)``, ``JsonRawData()`` and the
``NlohmannJson`` proxy behind their ``.data`` (``SimulationStatus`` is an alias),
as in nrp-core 1.4.1."""

from nrp_core._embedded.datapacks import JsonDataPack, JsonRawData, NlohmannJson

SimulationStatus = NlohmannJson

__all__ = ["JsonDataPack", "JsonRawData", "NlohmannJson", "SimulationStatus"]
