"""Geometry shared by the vehicle engine: a square arena and a ray-cast distance sensor."""

import math

HALF_SIZE = 5.0  # the arena spans -5..5 m on both axes


def distance_to_wall(x, y, heading):
    """Distance from (x, y) along ``heading`` (radians) to the arena wall."""
    dx, dy = math.cos(heading), math.sin(heading)
    distances = []
    if dx > 1e-9:
        distances.append((HALF_SIZE - x) / dx)
    elif dx < -1e-9:
        distances.append((-HALF_SIZE - x) / dx)
    if dy > 1e-9:
        distances.append((HALF_SIZE - y) / dy)
    elif dy < -1e-9:
        distances.append((-HALF_SIZE - y) / dy)
    return max(0.0, min(distances))
