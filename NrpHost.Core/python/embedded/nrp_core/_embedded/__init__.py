"""Private implementation of the embedded nrp-core-compatible runtime.

Modules: ``datapacks`` (JSON datapacks and value copying), ``functions``
(decorators and function-file loading), ``engines`` (EngineScript, the
python_json engine and the datatransfer sink), ``config`` (configuration,
``-o`` overrides, defaults), ``fti`` (the FTI loop), ``runtime`` (one
simulation's engines, functions and module isolation), ``errors`` and
``client`` (``NrpCore``). Nothing here is a public API; import from
``nrp_client``, ``nrp_core``, ``nrp_core.data.nrp_json`` and
``nrp_core.engines.python_json`` instead.
"""
