"""nrp-core-compatible Python API, embedded in NrpHost.

Function files written for nrp-core 1.4.1 import their decorators from here
(``from nrp_core import *``): ``TransceiverFunction``,
``PreprocessingFunction``, ``StatusFunction``, ``EngineDataPack``,
``EngineDataPacks``, ``PreprocessedDataPack``, ``SimulationTime``,
``SimulationIteration`` and ``DataPackIdentifier``. JSON datapacks are in
``nrp_core.data.nrp_json``, the engine script base class in
``nrp_core.engines.python_json`` and the client in ``nrp_core.client`` (the
pre-1.4 import path; ``nrp_client`` is the current one). The implementation
lives in the private ``nrp_core._embedded`` package.
"""

from nrp_core._embedded.datapacks import DataPackIdentifier
from nrp_core._embedded.functions import (
    EngineDataPack,
    EngineDataPacks,
    PreprocessedDataPack,
    PreprocessingFunction,
    SimulationIteration,
    SimulationTime,
    StatusFunction,
    TransceiverFunction,
)

__version__ = "1.4.1"

__all__ = [
    "DataPackIdentifier",
    "EngineDataPack",
    "EngineDataPacks",
    "PreprocessedDataPack",
    "PreprocessingFunction",
    "SimulationIteration",
    "SimulationTime",
    "StatusFunction",
    "TransceiverFunction",
]
