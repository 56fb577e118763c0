"""Base class of python_json engine scripts: ``class Script(EngineScript)``.

Hooks: ``initialize()``, ``runLoop(timestep_ns)``, ``shutdown()``, ``reset()``.
Helpers: ``_registerDataPack(name)``, ``_setDataPack(name, data)``,
``_getDataPack(name)``, ``_getRegisteredDataPackNames()``, ``_advanceTime(ns)``,
``_getEngineName()``; attributes ``_time_ns``, ``_name`` and ``_config`` (the
engine's configuration with ``TimeRatio``).
"""

from nrp_core._embedded.engines import EngineScript

__all__ = ["EngineScript"]
