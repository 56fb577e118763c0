"""Engine python_1: publishes its own time as the datapack "datapack1"."""

from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        print("Engine 1 is initializing. Registering datapack...")
        self._registerDataPack("datapack1")
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": 0})

    def runLoop(self, timestep_ns):
        # _time_ns already holds the end time of this step
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": timestep_ns})
        print("DataPack 1 data is " + str(self._getDataPack("datapack1")))

    def reset(self):
        print("Engine 1 is resetting")
        self._setDataPack("datapack1", {"time": 0, "timestep": 0})

    def shutdown(self):
        print("Engine 1 is shutting down")
