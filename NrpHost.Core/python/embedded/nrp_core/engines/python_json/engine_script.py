"""nrp-core's module path of the engine script base class:
``from nrp_core.engines.python_json.engine_script import EngineScript``."""

from nrp_core._embedded.engines import EngineScript

__all__ = ["EngineScript"]
