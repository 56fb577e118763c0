namespace NrpHost.Simulation;

internal sealed partial class Simulation
{
    /// <summary>Handles a requested state; requests of one simulation run one at a time.</summary>
    public async Task<StateChangeResult> RequestStateAsync(SimulationState target, CancellationToken cancellationToken)
    {
        await _operations.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_lock)
            {
                if (_state.IsFinal())
                {
                    return new StateChangeResult(StateChangeStatus.Finalized, _state, "The simulation requested is finalized");
                }

                if (_state == target)
                {
                    return new StateChangeResult(StateChangeStatus.Unchanged, _state);
                }
            }

            return target switch
            {
                SimulationState.Stopped or SimulationState.Failed => await StopAsync(target).ConfigureAwait(false),
                SimulationState.Started => Move(SimulationState.Paused, SimulationState.Started, OpenGate),
                SimulationState.Paused => Move(SimulationState.Started, SimulationState.Paused, CloseGate),
                SimulationState.Completed => Move(SimulationState.Started, SimulationState.Completed, CloseGate),
                _ => Invalid(target),
            };
        }
        finally
        {
            _operations.Release();
        }
    }

    private StateChangeResult Move(SimulationState from, SimulationState to, Action effect)
    {
        SimulationSnapshot snapshot;
        SimulationState previous;
        lock (_lock)
        {
            if (_state != from || _stopping)
            {
                return new StateChangeResult(StateChangeStatus.InvalidTransition, _state, InvalidMessage(_state, to));
            }

            effect();
            previous = _state;
            SetStateLocked(to);
            snapshot = SnapshotLocked();
        }

        OnStateChanged(snapshot, previous);
        return new StateChangeResult(StateChangeStatus.Changed, to);
    }

    private StateChangeResult Invalid(SimulationState target)
    {
        lock (_lock)
        {
            return new StateChangeResult(StateChangeStatus.InvalidTransition, _state, InvalidMessage(_state, target));
        }
    }

    private static string InvalidMessage(SimulationState from, SimulationState to) =>
        $"'{from.ToWireName()}' -> '{to.ToWireName()}'";

    /// <summary>Start or resume: the script runs until its next <c>run_loop</c> finds the gate closed.</summary>
    private void OpenGate()
    {
        _scriptStarted = true;
        _control?.SetPaused(false);
        _gate.Set();
    }

    /// <summary>Pause: the script blocks at its next <c>run_loop</c>.</summary>
    private void CloseGate()
    {
        _gate.Reset();
        _control?.SetPaused(true);
    }
}
