# Steps the vehicle demo until the timeout, logging a progress line every second
# of simulated time. The NRP backend provides `nrp`, `NRPSimulationTimeout`,
# `file_logger` and `logging`.
steps = 0
try:
    while True:
        nrp.run_loop()
        steps += 1
        if steps % 100 == 0:
            file_logger.info("vehicle_closed_loop: %d steps (%.1f s simulated)", steps, steps * 0.01)
except NRPSimulationTimeout:
    file_logger.debug("vehicle_closed_loop: simulation timeout reached after %d steps", steps)
    file_logger.info("vehicle_closed_loop: simulation completed")
