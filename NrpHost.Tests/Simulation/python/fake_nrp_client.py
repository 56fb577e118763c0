"""A test stand-in for the nrp-core client: records its calls, with configurable step cost and failures.

Behaviour comes from ``fake_client.json`` in the experiment folder (all keys optional):
``journal`` (absolute path: one JSON line per call), ``step_seconds`` (sleep per run_loop call),
``fail_construct`` / ``fail_initialize`` / ``fail_shutdown`` (error texts), ``fail_at_step`` (run_loop raises
once this many iterations were done), ``initialize_seconds`` (sleep in initialize).
"""

import json
import os
import time


class NrpCore:
    def __init__(self, address, experiment_folder="", config_file="simulation_config.json", args="",
                 log_output=".console_output.log", server_timeout=10, **_launcher_only):
        self.folder = experiment_folder or os.getcwd()
        spec_path = os.path.join(self.folder, "fake_client.json")
        self.spec = {}
        if os.path.exists(spec_path):
            with open(spec_path, "r", encoding="utf-8") as handle:
                self.spec = json.load(handle)
        self.steps = 0
        self._record("construct", address=address, experiment_folder=experiment_folder, config_file=config_file,
                     args=args, cwd=os.getcwd())
        if self.spec.get("fail_construct"):
            raise RuntimeError(self.spec["fail_construct"])

    def _record(self, call, **details):
        journal = self.spec.get("journal")
        if journal:
            with open(journal, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(dict(call=call, **details)) + "\n")

    def initialize(self):
        self._record("initialize")
        if self.spec.get("initialize_seconds"):
            time.sleep(self.spec["initialize_seconds"])
        if self.spec.get("fail_initialize"):
            raise RuntimeError(self.spec["fail_initialize"])

    def run_loop(self, num_iterations, json_data=None):
        fail_at = self.spec.get("fail_at_step")
        if fail_at is not None and self.steps + num_iterations > fail_at:
            raise RuntimeError("engine failure at step %d" % (self.steps + num_iterations))
        seconds = self.spec.get("step_seconds", 0)
        if seconds:
            time.sleep(seconds)
        self.steps += num_iterations
        return None

    def shutdown(self):
        self._record("shutdown", steps=self.steps)
        if self.spec.get("fail_shutdown"):
            raise RuntimeError(self.spec["fail_shutdown"])
