"""Transceiver function "sense": vehicle sensor -> controller distance input."""

from nrp_core import *
from nrp_core.data.nrp_json import JsonDataPack


@EngineDataPack(keyword="sensor", id=DataPackIdentifier("sensor", "vehicle"))
@TransceiverFunction("controller")
def sense(sensor):
    distance = JsonDataPack("distance", "controller")
    distance.data["meters"] = sensor.data["distance"]
    return [distance]
