"""nrp-core python client (nrp-core >= 1.4 import path): ``from nrp_client import NrpCore``.

NrpHost's embedded client runs the experiment in-process; see
``nrp_core._embedded.client`` for paths, states and errors.
"""

from nrp_core._embedded.client import NrpCore, NrpCoreRequestError, RunLoopResponse

__all__ = ["NrpCore", "NrpCoreRequestError", "RunLoopResponse"]
