namespace NrpHost.Isolation;

/// <summary>Where a simulation's Python runs (<c>NrpHost:Simulation:Isolation</c>).</summary>
public enum SimulationIsolation
{
    /// <summary>
    /// In the host's own interpreter, on a thread of its own: the lowest step latency and nothing to start, but a script
    /// shares the host's process, interpreter and current directory. For embedding, benchmarks and one trusted user.
    /// </summary>
    InProcess,

    /// <summary>
    /// In a worker process of its own (a fresh interpreter per simulation, one warm spare waiting): a crash, an exit, a
    /// signal or a daemon of the script ends only its simulation, simulations run truly in parallel, and the limits of
    /// <see cref="Simulation.SimulationOptions.Limits"/> apply. The server's default.
    /// </summary>
    Process,

    /// <summary>
    /// As <see cref="Process"/>, inside bubblewrap (<c>bwrap</c>): a read-only root where only the simulation directory
    /// is writable, a private <c>/tmp</c>, a PID namespace, no network. Needs bubblewrap and user namespaces; where
    /// they are missing the host says why and refuses to create simulations.
    /// </summary>
    Sandbox,
}

/// <summary>Simulations cannot be run in the configured isolation on this machine (the message says why and what to do).</summary>
public sealed class IsolationUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public IsolationUnavailableException()
    {
    }

    /// <summary>Creates the exception with the reason.</summary>
    public IsolationUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the reason and its cause.</summary>
    public IsolationUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
