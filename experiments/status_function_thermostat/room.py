"""Engine "room": a room losing heat to the outside, warmed by a heater.

Publishes "temperature" ({"celsius", "time"}); receives "heater" ({"power"} in 0..1).
"""

from nrp_core.engines.python_json import EngineScript

OUTSIDE = 5.0  # degrees Celsius
LOSS = 0.2  # per second, fraction of the difference to the outside
HEATER = 6.0  # degrees per second at full power


class Script(EngineScript):
    def initialize(self):
        self.celsius = 15.0
        self._registerDataPack("temperature")
        self._registerDataPack("heater")
        self._setDataPack("heater", {"power": 0.0})
        self._publish()
        print(f"Room starts at {self.celsius:.1f} C")

    def _publish(self):
        self._setDataPack("temperature", {"celsius": round(self.celsius, 3), "time": self._time_ns})

    def runLoop(self, timestep_ns):
        dt = timestep_ns / 1e9
        power = self._getDataPack("heater")["power"]
        self.celsius += (-LOSS * (self.celsius - OUTSIDE) + HEATER * power) * dt
        self._publish()
        if self._time_ns % 500000000 == 0:
            print(f"t={self._time_ns / 1e9:.1f} s  room {self.celsius:.2f} C  heater {power:.2f}")

    def reset(self):
        self.celsius = 15.0
        self._publish()

    def shutdown(self):
        print(f"Room ends at {self.celsius:.2f} C")
