"""Transceiver function tf_1: copies datapack1 of python_1 into rec_datapack2 of python_2."""

from nrp_core import *
from nrp_core.data.nrp_json import JsonDataPack


@EngineDataPack(keyword="datapack_python", id=DataPackIdentifier("datapack1", "python_1"))
@TransceiverFunction("python_2")
def transceiver_function(datapack_python):
    rec_datapack = JsonDataPack("rec_datapack2", "python_2")
    for key in datapack_python.data.keys():
        rec_datapack.data[key] = datapack_python.data[key]
    return [rec_datapack]
