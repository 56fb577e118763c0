"""Engine "vehicle": unicycle kinematics with a forward distance sensor.

Publishes "sensor" ({"distance", "x", "y", "heading"}); receives "command"
({"speed" m/s, "turn_rate" rad/s}). Prints its pose every 0.5 s.

With "RealTimeFactor" in its engine configuration (1.0 = real time), each step
waits so that simulated time advances at that pace, as a physics engine running
in real time would; 0 or absent runs as fast as possible.
"""

import math
import time

import arena
from nrp_core.engines.python_json import EngineScript

LOG_EVERY_NS = 500000000


class Script(EngineScript):
    def initialize(self):
        self.x, self.y, self.heading = -3.0, -1.0, 0.3
        self._pace = float(self._config.get("RealTimeFactor", 0) or 0)
        self._last_step = time.monotonic()
        self._registerDataPack("sensor")
        self._registerDataPack("command")
        self._setDataPack("command", {"speed": 0.0, "turn_rate": 0.0})
        self._publish()
        print(f"Vehicle starts at ({self.x:.2f}, {self.y:.2f}), heading {math.degrees(self.heading):.0f} deg")

    def _publish(self):
        self._setDataPack("sensor", {
            "distance": round(arena.distance_to_wall(self.x, self.y, self.heading), 4),
            "x": round(self.x, 4), "y": round(self.y, 4), "heading": round(self.heading, 4)})

    def runLoop(self, timestep_ns):
        dt = timestep_ns / 1e9
        if self._pace > 0:
            wait = dt / self._pace - (time.monotonic() - self._last_step)
            if wait > 0:
                time.sleep(wait)
            self._last_step = time.monotonic()
        command = self._getDataPack("command")
        self.heading = (self.heading + command["turn_rate"] * dt) % (2 * math.pi)
        self.x += command["speed"] * math.cos(self.heading) * dt
        self.y += command["speed"] * math.sin(self.heading) * dt
        self._publish()
        if self._time_ns % LOG_EVERY_NS == 0:
            print(f"t={self._time_ns / 1e9:.1f} s  vehicle at ({self.x:+.2f}, {self.y:+.2f})  "
                  f"heading {math.degrees(self.heading):5.0f} deg  wall in {self._getDataPack('sensor')['distance']:.2f} m")

    def shutdown(self):
        print(f"Vehicle stops at ({self.x:.2f}, {self.y:.2f})")
