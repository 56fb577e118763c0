namespace NrpHost.Simulation;

/// <summary>Conveniences on top of <see cref="ISimulationManager"/>.</summary>
public static class SimulationManagerExtensions
{
    /// <summary>
    /// Waits until simulation <paramref name="id"/> is in <paramref name="state"/>, or is final (stopped or failed) and so
    /// can never get there; check <see cref="SimulationSnapshot.State"/> of the answer. Driven by
    /// <see cref="ISimulationManager.StateChanged"/>, not by polling.
    /// </summary>
    /// <returns>The simulation as it was when the wait ended, or null when no simulation has that id.</returns>
    /// <exception cref="TimeoutException">It did not happen within <paramref name="timeout"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<SimulationSnapshot?> WaitForStateAsync(
        this ISimulationManager manager, int id, SimulationState state, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manager);
        var reached = new TaskCompletionSource<SimulationSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(object? sender, SimulationStateChangedEventArgs e)
        {
            if (e.Simulation.Id == id && (e.Simulation.State == state || e.Simulation.State.IsFinal()))
            {
                reached.TrySetResult(e.Simulation);
            }
        }

        manager.StateChanged += OnChanged;
        try
        {
            // Subscribed first, then looked: a change between the two is not missed.
            if (manager.Find(id) is not { } current)
            {
                return null;
            }

            if (current.State == state || current.State.IsFinal())
            {
                return current;
            }

            try
            {
                return await reached.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException(
                    $"Simulation {id} did not reach '{state.ToWireName()}' within {timeout.TotalSeconds:0.###} s; it is '{manager.Find(id)?.State.ToWireName()}'.");
            }
        }
        finally
        {
            manager.StateChanged -= OnChanged;
        }
    }
}
