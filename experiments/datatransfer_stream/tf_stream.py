"""Transceiver function "stream": the pendulum's state to the DataTransfer engine, as three protobuf datapacks."""

from nrp_core import *
from nrp_core.data.nrp_protobuf import DumpArrayFloatDataPack, DumpStringDataPack, WrappersDoubleValueDataPack


@EngineDataPack(keyword="state", id=DataPackIdentifier("state", "pendulum"))
@TransceiverFunction("datatransfer_engine")
def stream(state):
    # [angle, velocity] as a 1-D array: "<time>,0,<angle>,<velocity>" in pendulum_state-0.data
    vector = DumpArrayFloatDataPack("pendulum_state", "datatransfer_engine")
    vector.data.float_stream.extend([state.data["angle"], state.data["velocity"]])
    vector.data.dims.append(2)

    energy = WrappersDoubleValueDataPack("pendulum_energy", "datatransfer_engine")
    energy.data.value = state.data["energy"]

    swing = "left" if state.data["angle"] < 0 else "right"
    phase = DumpStringDataPack("pendulum_phase", "datatransfer_engine")
    phase.data.string_stream = f"swinging {swing}"
    return [vector, energy, phase]
