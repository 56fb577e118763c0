"""Transceiver function "act": controller command -> vehicle, and the pose to the datatransfer engine."""

from nrp_core import *
from nrp_core.data.nrp_json import JsonDataPack


@EngineDataPack(keyword="command", id=DataPackIdentifier("command", "controller"))
@EngineDataPack(keyword="sensor", id=DataPackIdentifier("sensor", "vehicle"))
@TransceiverFunction("vehicle")
def act(command, sensor):
    to_vehicle = JsonDataPack("command", "vehicle")
    to_vehicle.data["speed"] = command.data["speed"]
    to_vehicle.data["turn_rate"] = command.data["turn_rate"]
    pose = JsonDataPack("vehicle_pose", "datatransfer_engine")
    pose.data["x"] = sensor.data["x"]
    pose.data["y"] = sensor.data["y"]
    return [to_vehicle, pose]
