# Runs the pendulum until SimulationTimeout (5 s: 500 steps of 0.01 s), as the NRP templates do.
while True:
    try:
        nrp.run_loop()
    except NRPSimulationTimeout:
        file_logger.info("datatransfer_stream completed")
        break
