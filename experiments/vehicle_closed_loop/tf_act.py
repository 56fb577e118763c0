"""Transceiver function "act": controller command -> vehicle, and the pose [x, y] to the datatransfer engine."""

from nrp_core import *
from nrp_core.data.nrp_json import JsonDataPack
from nrp_core.data.nrp_protobuf import DumpArrayFloatDataPack


@EngineDataPack(keyword="command", id=DataPackIdentifier("command", "controller"))
@EngineDataPack(keyword="sensor", id=DataPackIdentifier("sensor", "vehicle"))
@TransceiverFunction("vehicle")
def act(command, sensor):
    to_vehicle = JsonDataPack("command", "vehicle")
    to_vehicle.data["speed"] = command.data["speed"]
    to_vehicle.data["turn_rate"] = command.data["turn_rate"]
    pose = DumpArrayFloatDataPack("vehicle_pose", "datatransfer_engine")
    pose.data.float_stream.extend([sensor.data["x"], sensor.data["y"]])
    return [to_vehicle, pose]
