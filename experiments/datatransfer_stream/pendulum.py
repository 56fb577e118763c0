"""A damped pendulum: publishes its angle (rad), angular velocity (rad/s) and energy (J) as datapack "state"."""

import math

from nrp_core.engines.python_json import EngineScript

GRAVITY = 9.81
LENGTH = 1.0
MASS = 1.0
DAMPING = 0.3


class Script(EngineScript):
    def initialize(self):
        self.angle = 1.0
        self.velocity = 0.0
        self._registerDataPack("state")
        self._publish()

    def runLoop(self, timestep_ns):
        dt = timestep_ns / 1e9
        # semi-implicit Euler: stable for this step size
        self.velocity += (-GRAVITY / LENGTH * math.sin(self.angle) - DAMPING * self.velocity) * dt
        self.angle += self.velocity * dt
        self._publish()

    def reset(self):
        self.angle = 1.0
        self.velocity = 0.0
        self._publish()

    def _publish(self):
        energy = 0.5 * MASS * (LENGTH * self.velocity) ** 2 + MASS * GRAVITY * LENGTH * (1 - math.cos(self.angle))
        self._setDataPack("state", {"angle": self.angle, "velocity": self.velocity, "energy": energy,
                                    "time": self._time_ns / 1e9})
