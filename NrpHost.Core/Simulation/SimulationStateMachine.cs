namespace NrpHost.Simulation;

/// <summary>Where the script's pause gate stands; the state machine moves it together with the state.</summary>
internal enum GatePosition
{
    /// <summary>The script waits at its next <c>nrp.run_loop</c> (created, paused, completed).</summary>
    Closed,

    /// <summary>The script runs (started).</summary>
    Open,

    /// <summary>The script is being stopped: the gate is open for good and <c>run_loop</c> raises the stop signal.</summary>
    Stop,
}

/// <summary>The pause gate the state machine drives (the worker's; a recording fake in tests).</summary>
internal interface IPauseGate
{
    /// <summary>Moves the gate. Called under the state machine's lock, so it must only flip flags and events.</summary>
    void Move(GatePosition position);
}

/// <summary>What the state machine decided for a requested state.</summary>
internal enum RequestOutcome
{
    /// <summary>The state changed (see <see cref="RequestDecision.Previous"/>).</summary>
    Changed,

    /// <summary>The simulation already is in that state.</summary>
    Unchanged,

    /// <summary>The simulation is final; nothing can be requested.</summary>
    Finalized,

    /// <summary>The state cannot be reached from the current one.</summary>
    Invalid,

    /// <summary>This request began the stop: the caller runs it and ends with <see cref="SimulationStateMachine.Finish"/>.</summary>
    BeginStop,

    /// <summary>A stop is already under way: the caller waits for it.</summary>
    JoinStop,
}

/// <summary>The state machine's answer to a request.</summary>
/// <param name="Outcome">What happens.</param>
/// <param name="State">The state after the decision.</param>
/// <param name="Previous">The state before it.</param>
internal readonly record struct RequestDecision(RequestOutcome Outcome, SimulationState State, SimulationState Previous)
{
    /// <summary>The NRP backend's detail for an invalid transition: <c>'&lt;current&gt;' -&gt; '&lt;requested&gt;'</c>.</summary>
    public static string InvalidMessage(SimulationState from, SimulationState to) => $"'{from.ToWireName()}' -> '{to.ToWireName()}'";
}

/// <summary>A state change that happened: from, to.</summary>
internal readonly record struct Transition(SimulationState From, SimulationState To);

/// <summary>
/// One simulation's states and transitions, and nothing else: one lock, no I/O, no Python. It also keeps the
/// simulation's real time (time spent <c>started</c>) and moves the pause gate together with the state, so the gate
/// can never disagree with the state.
/// </summary>
/// <remarks>
/// <para>Requests (from users) and events (from the simulation's own work) are separate:</para>
/// <list type="table">
/// <listheader><term>current</term><description>started / paused / completed / stopped or failed requested</description></listheader>
/// <item><term>created</term><description>invalid / invalid / invalid / begin stop</description></item>
/// <item><term>paused</term><description>changed, gate open / unchanged / invalid / begin stop</description></item>
/// <item><term>started</term><description>unchanged / changed, gate closed / changed, gate closed / begin stop</description></item>
/// <item><term>completed</term><description>invalid / invalid / unchanged / begin stop</description></item>
/// <item><term>stopped, failed</term><description>finalized, whatever is requested</description></item>
/// </list>
/// <para><c>created</c> can never be requested. While a stop is under way, a stop request joins it; any other request
/// is unchanged when it names the current state and invalid otherwise. Events: initialised (created → paused),
/// script ended (started or paused → completed), both ignored once stopping; finish (any → stopped or failed).</para>
/// </remarks>
internal sealed class SimulationStateMachine
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly IPauseGate _gate;
    private volatile SimulationState _state = SimulationState.Created; // written under the lock, read without it
    private bool _stopping;
    private TimeSpan _realTime;
    private long _startedAt;

    public SimulationStateMachine(TimeProvider time, IPauseGate gate)
    {
        _time = time;
        _gate = gate;
        _gate.Move(GatePosition.Closed);
    }

    /// <summary>The state (one read, no lock: what a poll asks for most).</summary>
    public SimulationState State => _state;

    /// <summary>Whether a stop (or a failure clean-up) has begun.</summary>
    public bool IsStopping
    {
        get
        {
            lock (_lock)
            {
                return _stopping;
            }
        }
    }

    /// <summary>Wall-clock time spent in <c>started</c>, pauses excluded.</summary>
    public TimeSpan RealTime => Read().RealTime;

    /// <summary>Reads the state and real time together (one lock).</summary>
    public (SimulationState State, TimeSpan RealTime) Read()
    {
        lock (_lock)
        {
            return (_state, _state == SimulationState.Started ? _realTime + _time.GetElapsedTime(_startedAt) : _realTime);
        }
    }

    /// <summary>Decides a requested state and, when it changes, moves state and gate at once.</summary>
    public RequestDecision Request(SimulationState target)
    {
        lock (_lock)
        {
            var current = _state;
            if (current.IsFinal())
            {
                return new(RequestOutcome.Finalized, current, current);
            }

            if (target is SimulationState.Stopped or SimulationState.Failed)
            {
                if (_stopping)
                {
                    return new(RequestOutcome.JoinStop, current, current);
                }

                _stopping = true;
                _gate.Move(GatePosition.Stop);
                return new(RequestOutcome.BeginStop, current, current);
            }

            if (current == target)
            {
                return new(RequestOutcome.Unchanged, current, current);
            }

            if (_stopping)
            {
                return new(RequestOutcome.Invalid, current, current);
            }

            var next = (current, target) switch
            {
                (SimulationState.Paused, SimulationState.Started) => SimulationState.Started,
                (SimulationState.Started, SimulationState.Paused) => SimulationState.Paused,
                (SimulationState.Started, SimulationState.Completed) => SimulationState.Completed,
                _ => (SimulationState?)null,
            };
            if (next is not { } to)
            {
                return new(RequestOutcome.Invalid, current, current);
            }

            SetLocked(to);
            _gate.Move(to == SimulationState.Started ? GatePosition.Open : GatePosition.Closed);
            return new(RequestOutcome.Changed, to, current);
        }
    }

    /// <summary>Begins a stop that the simulation itself needs (a failed initialisation); false when one has begun.</summary>
    public bool TryBeginStop()
    {
        lock (_lock)
        {
            if (_stopping || _state.IsFinal())
            {
                return false;
            }

            _stopping = true;
            _gate.Move(GatePosition.Stop);
            return true;
        }
    }

    /// <summary>Initialisation finished: <c>created</c> → <c>paused</c>, unless a stop has begun.</summary>
    public Transition? Initialized() => Move(SimulationState.Paused, static s => s == SimulationState.Created);

    /// <summary>The script returned or raised: <c>started</c> or <c>paused</c> → <c>completed</c>, unless a stop has begun.</summary>
    public Transition? ScriptEnded() =>
        Move(SimulationState.Completed, static s => s is SimulationState.Started or SimulationState.Paused);

    /// <summary>The stop is done: any non-final state → <paramref name="final"/> (stopped or failed).</summary>
    public Transition? Finish(SimulationState final)
    {
        if (!final.IsFinal())
        {
            throw new ArgumentOutOfRangeException(nameof(final), final, "A simulation finishes stopped or failed.");
        }

        lock (_lock)
        {
            if (_state.IsFinal())
            {
                return null;
            }

            var from = _state;
            _stopping = true;
            SetLocked(final);
            _gate.Move(GatePosition.Stop);
            return new Transition(from, final);
        }
    }

    private Transition? Move(SimulationState to, Func<SimulationState, bool> allowedFrom)
    {
        lock (_lock)
        {
            if (_stopping || !allowedFrom(_state))
            {
                return null;
            }

            var from = _state;
            SetLocked(to);
            _gate.Move(GatePosition.Closed);
            return new Transition(from, to);
        }
    }

    /// <summary>Every state change goes through here, so the real time is kept in one place.</summary>
    private void SetLocked(SimulationState state)
    {
        if (_state == SimulationState.Started && state != SimulationState.Started)
        {
            _realTime += _time.GetElapsedTime(_startedAt);
        }
        else if (state == SimulationState.Started && _state != SimulationState.Started)
        {
            _startedAt = _time.GetTimestamp();
        }

        _state = state;
    }
}
