using NrpHost.NrpCore;
using NrpHost.Python;
using Python.Runtime;

namespace NrpHost.Simulation;

internal sealed partial class Simulation
{
    /// <summary>
    /// The simulation's own thread: prepares the script and client, waits (without the GIL) for the first start,
    /// runs the script, and reports how it ended. It never touches the state lock while holding the GIL.
    /// </summary>
    private void ThreadMain()
    {
        SimulationError? report = null;
        var control = _control!;
        try
        {
            var nrpCore = _services.NrpCore;
            var (factory, pythonPath) = NrpCoreClients.Select(nrpCore, _services.Python.PackagesPath);
            // One GIL hold (and so one Python thread state) for the whole preparation.
            using (Py.GIL())
            {
                var session = ScriptSession.Create(Id, _directory!, Request.MainScript, control, WaitAtGate, _configuration!.MaxSteps, pythonPath);
                Volatile.Write(ref _session, session);
                report = session.Load();
                if (report is null && !control.IsStopRequested)
                {
                    var overrides = NrpCoreOverrides.Build(Id, _configuration.DataTransferEngineIndex, nrpCore.MqttBroker, nrpCore.MqttPrefix);
                    report = session.CreateClient(factory, nrpCore.Address, Request.ExperimentConfiguration, overrides);
                }
            }
        }
        catch (Exception ex) when (control.IsStopRequested)
        {
            SimulationLog.StoppedDuringPreparation(_logger, Id, ex.Message);
        }
        catch (Exception ex)
        {
            report = ScriptSession.HostFault(Id, Request.MainScript, "Loading", ex);
        }

        _prepared.TrySetResult(report);
        if (report is not null)
        {
            _threadEnded.TrySetResult();
            return;
        }

        try
        {
            _gate.Wait();
            if (!control.IsStopRequested)
            {
                var (stopped, error) = _session!.Run();
                OnScriptEnded(stopped || control.IsStopRequested, error);
            }
        }
        catch (Exception ex) when (control.IsStopRequested)
        {
            SimulationLog.StoppedDuringPreparation(_logger, Id, ex.Message);
        }
        catch (Exception ex)
        {
            OnScriptEnded(false, ScriptSession.HostFault(Id, Request.MainScript, "Runtime", ex));
        }
        finally
        {
            _threadEnded.TrySetResult();
        }
    }

    /// <summary>Called by Python (through pythonnet, without the GIL) when the script reaches a closed gate.</summary>
    private void WaitAtGate() => _gate.Wait();

    private void OnScriptEnded(bool stopped, SimulationError? error)
    {
        DrainOutputQuietly();
        if (error is not null)
        {
            SimulationLog.ScriptFault(_logger, Id, error.ErrorType, error.Message, error.FileName, error.LineNumber);
            _services.Events.RuntimeError(error);
        }

        if (stopped)
        {
            SimulationLog.ScriptStopped(_logger, Id);
            return;
        }

        SimulationLog.ScriptEnded(_logger, Id);
        SimulationSnapshot snapshot;
        SimulationState previous;
        lock (_lock)
        {
            if (_stopping || _state is not (SimulationState.Started or SimulationState.Paused))
            {
                return;
            }

            previous = _state;
            SetStateLocked(SimulationState.Completed);
            snapshot = SnapshotLocked();
        }

        OnStateChanged(snapshot, previous);
    }

    private void DrainOutputQuietly()
    {
        try
        {
            PythonRuntime.DrainOutput();
        }
        catch (PythonException ex)
        {
            SimulationLog.OutputDrainFailed(_logger, Id, ex.Message);
        }
    }
}
