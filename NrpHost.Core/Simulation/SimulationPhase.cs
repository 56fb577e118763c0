namespace NrpHost.Simulation;

/// <summary>The phases of a simulation's life, as seen by the fault-injection seam of the tests.</summary>
internal enum SimulationPhase
{
    /// <summary>Copying the experiment into the simulation directory.</summary>
    Stage,

    /// <summary>Reading <c>simulation_config.json</c>.</summary>
    Configure,

    /// <summary>Making sure CPython is initialised.</summary>
    Python,

    /// <summary>On the simulation thread: session, script compilation, client construction and <c>initialize()</c>.</summary>
    Prepare,

    /// <summary>On the simulation thread: the script.</summary>
    Run,

    /// <summary>On the simulation thread: the client's <c>shutdown()</c> and closing the session.</summary>
    Shutdown,

    /// <summary>On the simulation thread: closing the session, which gives the interpreter back.</summary>
    Restore,

    /// <summary>Zipping the logs.</summary>
    Archive,

    /// <summary>Handing the archive to storage.</summary>
    Upload,

    /// <summary>Removing the simulation directory.</summary>
    Delete,
}
