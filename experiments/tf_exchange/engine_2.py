"""Engine python_2: receives "rec_datapack2" from tf_1 and prints it."""

from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        print("Engine 2 is initializing. Registering datapack...")
        self._registerDataPack("rec_datapack2")
        self._setDataPack("rec_datapack2", {"time": 0, "timestep": 0})

    def runLoop(self, timestep_ns):
        print("Engine 2 received data is " + str(self._getDataPack("rec_datapack2")))

    def shutdown(self):
        print("Engine 2 is shutting down")
