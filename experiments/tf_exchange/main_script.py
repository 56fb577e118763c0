# Runs the experiment step by step until the simulation timeout.
# The NRP backend provides `nrp`, `NRPSimulationTimeout`, `file_logger` and `logging`.
try:
    while True:
        nrp.run_loop()
except NRPSimulationTimeout:
    file_logger.debug("tf_exchange: simulation timeout reached")
    file_logger.info("tf_exchange: simulation completed")
