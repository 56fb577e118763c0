"""Pre-1.4 import path of the nrp-core client: ``from nrp_core.client import NrpCore``.

The class is the same object as ``nrp_client.NrpCore``.
"""

from nrp_core._embedded.client import NrpCore, NrpCoreRequestError, RunLoopResponse

__all__ = ["NrpCore", "NrpCoreRequestError", "RunLoopResponse"]
