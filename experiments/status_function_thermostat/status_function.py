"""Status function "comfort_status": done after 0.5 s inside 20.5..21.5 C."""

from nrp_core import *
from nrp_core.data.nrp_json import JsonRawData

comfort_since = [None]


@EngineDataPack(keyword="temperature", id=DataPackIdentifier("temperature", "room"))
@SimulationTime(keyword="sim_time")
@StatusFunction()
def comfort_status(temperature, sim_time):
    celsius = temperature.data["celsius"]
    if 20.5 <= celsius <= 21.5:
        if comfort_since[0] is None:
            comfort_since[0] = sim_time
    else:
        comfort_since[0] = None
    done = comfort_since[0] is not None and sim_time - comfort_since[0] >= 500000000
    observation = JsonRawData()
    observation.data["time"] = sim_time
    observation.data["celsius"] = celsius
    return done, [observation]
