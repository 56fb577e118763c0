# Steps the simulation until the timeout and logs when the status function
# first reports that the room is comfortable. The NRP backend provides `nrp`,
# `NRPSimulationTimeout`, `file_logger` and `logging`.
reported = False
try:
    while True:
        done, trajectory = nrp.run_loop()
        if done and not reported:
            reported = True
            last = trajectory[-1]
            file_logger.info(
                "comfortable at t=%.2f s (%.2f C) after %d observations",
                last["time"] / 1e9, last["celsius"], len(trajectory))
except NRPSimulationTimeout:
    file_logger.debug("status_function_thermostat: simulation timeout reached")
    file_logger.info("status_function_thermostat: simulation completed")
