"""Transceiver function "thermostat": proportional heater control towards 21 C."""

from nrp_core import *
from nrp_core.data.nrp_json import JsonDataPack

TARGET = 21.0


@EngineDataPack(keyword="temperature", id=DataPackIdentifier("temperature", "room"))
@TransceiverFunction("room")
def thermostat(temperature):
    error = TARGET - temperature.data["celsius"]
    heater = JsonDataPack("heater", "room")
    heater.data["power"] = max(0.0, min(1.0, 0.5 + error))
    return [heater]
