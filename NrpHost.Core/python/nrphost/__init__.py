"""Host-side helpers that NrpHost.Core loads into the embedded interpreter.

These modules are internal to NrpHost: the output bridge (``_output``), the script runner and the
``nrp`` object given to ``main_script.py`` (``runner``). User scripts never import them.
"""
