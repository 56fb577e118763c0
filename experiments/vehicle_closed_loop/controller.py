"""Engine "controller": drives forward and turns away from walls it gets close to.

Receives "distance" ({"meters"}); publishes "command" ({"speed", "turn_rate"}).
"""

from nrp_core.engines.python_json import EngineScript

CRUISE_SPEED = 2.5  # m/s
SAFE_DISTANCE = 2.0  # m


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("distance")
        self._registerDataPack("command")
        self._setDataPack("distance", {"meters": 10.0})
        self._setDataPack("command", {"speed": 0.0, "turn_rate": 0.0})

    def runLoop(self, timestep_ns):
        meters = self._getDataPack("distance")["meters"]
        if meters < SAFE_DISTANCE:
            closeness = 1.0 - meters / SAFE_DISTANCE
            command = {"speed": CRUISE_SPEED * (1.0 - 0.7 * closeness), "turn_rate": 3.0 * closeness + 0.5}
        else:
            command = {"speed": CRUISE_SPEED, "turn_rate": 0.0}
        self._setDataPack("command", command)
