using Microsoft.Extensions.Time.Testing;
using NrpHost.Simulation;

namespace NrpHost.Tests.Simulation;

/// <summary>The state machine on its own: every state × every request, the events, the gate and the real time.</summary>
public sealed class SimulationStateMachineTests
{
    private static readonly SimulationState[] AllStates = Enum.GetValues<SimulationState>();

    /// <summary>current state, requested state, expected outcome, state afterwards, gate afterwards (null: unchanged).</summary>
    public static TheoryData<SimulationState, SimulationState, string, SimulationState, string?> Table()
    {
        const string Changed = nameof(RequestOutcome.Changed);
        const string Unchanged = nameof(RequestOutcome.Unchanged);
        const string Invalid = nameof(RequestOutcome.Invalid);
        const string Stop = nameof(RequestOutcome.BeginStop);
        const string Final = nameof(RequestOutcome.Finalized);
        const string Open = nameof(GatePosition.Open);
        const string Closed = nameof(GatePosition.Closed);
        const string Stopping = nameof(GatePosition.Stop);
        var c = SimulationState.Created;
        var p = SimulationState.Paused;
        var s = SimulationState.Started;
        var d = SimulationState.Completed;
        var x = SimulationState.Stopped;
        var f = SimulationState.Failed;
        var rows = new TheoryData<SimulationState, SimulationState, string, SimulationState, string?>
        {
            // created: only a stop does something.
            { c, c, Unchanged, c, null }, { c, p, Invalid, c, null }, { c, s, Invalid, c, null },
            { c, d, Invalid, c, null }, { c, x, Stop, c, Stopping }, { c, f, Stop, c, Stopping },

            // paused: start opens the gate.
            { p, c, Invalid, p, null }, { p, p, Unchanged, p, null }, { p, s, Changed, s, Open },
            { p, d, Invalid, p, null }, { p, x, Stop, p, Stopping }, { p, f, Stop, p, Stopping },

            // started: pause and completed close the gate.
            { s, c, Invalid, s, null }, { s, p, Changed, p, Closed }, { s, s, Unchanged, s, null },
            { s, d, Changed, d, Closed }, { s, x, Stop, s, Stopping }, { s, f, Stop, s, Stopping },

            // completed: only a stop.
            { d, c, Invalid, d, null }, { d, p, Invalid, d, null }, { d, s, Invalid, d, null },
            { d, d, Unchanged, d, null }, { d, x, Stop, d, Stopping }, { d, f, Stop, d, Stopping },
        };

        // stopped and failed are final: every request is refused as finalized, nothing moves.
        foreach (var final in new[] { x, f })
        {
            foreach (var requested in AllStates)
            {
                rows.Add(final, requested, Final, final, null);
            }
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(Table))]
    public void Request_FromEveryState_FollowsTheTable(
        SimulationState current, SimulationState requested, string outcome, SimulationState after, string? gate)
    {
        var (machine, recorder, _) = MachineIn(current);
        var moves = recorder.Moves.Count;

        var decision = machine.Request(requested);

        Assert.Equal(Enum.Parse<RequestOutcome>(outcome), decision.Outcome);
        Assert.Equal(after, decision.State);
        Assert.Equal(current, decision.Previous);
        Assert.Equal(after, machine.State);
        if (gate is not null)
        {
            Assert.Equal(Enum.Parse<GatePosition>(gate), recorder.Moves[^1]);
            Assert.Equal(moves + 1, recorder.Moves.Count);
        }
        else
        {
            Assert.Equal(moves, recorder.Moves.Count);
        }
    }

    [Theory]
    [MemberData(nameof(NonFinalStates))]
    public void Request_WhileStopping_JoinsTheStopOrIsRefused_AndNothingMoves(SimulationState current)
    {
        var (machine, recorder, _) = MachineIn(current);
        Assert.Equal(RequestOutcome.BeginStop, machine.Request(SimulationState.Stopped).Outcome);
        var moves = recorder.Moves.Count;

        foreach (var requested in AllStates)
        {
            var decision = machine.Request(requested);
            var expected = requested is SimulationState.Stopped or SimulationState.Failed ? RequestOutcome.JoinStop
                : requested == current ? RequestOutcome.Unchanged
                : RequestOutcome.Invalid;
            Assert.Equal(expected, decision.Outcome);
            Assert.Equal(current, machine.State);
        }

        Assert.Equal(moves, recorder.Moves.Count);
        Assert.True(machine.IsStopping);
        Assert.False(machine.TryBeginStop());
    }

    public static TheoryData<SimulationState> NonFinalStates() =>
        [SimulationState.Created, SimulationState.Paused, SimulationState.Started, SimulationState.Completed];

    [Theory]
    [MemberData(nameof(EveryState))]
    public void Initialized_MovesOnlyCreatedToPaused(SimulationState current)
    {
        var (machine, _, _) = MachineIn(current);

        var transition = machine.Initialized();

        if (current == SimulationState.Created)
        {
            Assert.Equal(new Transition(SimulationState.Created, SimulationState.Paused), transition);
            Assert.Equal(SimulationState.Paused, machine.State);
        }
        else
        {
            Assert.Null(transition);
            Assert.Equal(current, machine.State);
        }
    }

    [Theory]
    [MemberData(nameof(EveryState))]
    public void ScriptEnded_MovesStartedOrPausedToCompleted(SimulationState current)
    {
        var (machine, recorder, _) = MachineIn(current);

        var transition = machine.ScriptEnded();

        if (current is SimulationState.Started or SimulationState.Paused)
        {
            Assert.Equal(new Transition(current, SimulationState.Completed), transition);
            Assert.Equal(SimulationState.Completed, machine.State);
            Assert.Equal(GatePosition.Closed, recorder.Moves[^1]);
        }
        else
        {
            Assert.Null(transition);
            Assert.Equal(current, machine.State);
        }
    }

    public static TheoryData<SimulationState> EveryState() => [.. AllStates];

    [Theory]
    [MemberData(nameof(NonFinalStates))]
    public void Events_WhileStopping_AreIgnored_AndFinishEndsIt(SimulationState current)
    {
        var (machine, recorder, _) = MachineIn(current);
        Assert.True(machine.TryBeginStop());

        Assert.Null(machine.Initialized());
        Assert.Null(machine.ScriptEnded());
        Assert.Equal(current, machine.State);
        Assert.Equal(GatePosition.Stop, recorder.Moves[^1]);

        Assert.Equal(new Transition(current, SimulationState.Failed), machine.Finish(SimulationState.Failed));
        Assert.Equal(SimulationState.Failed, machine.State);
        Assert.Null(machine.Finish(SimulationState.Stopped));
        Assert.Equal(RequestOutcome.Finalized, machine.Request(SimulationState.Started).Outcome);
    }

    [Theory]
    [InlineData(SimulationState.Created)]
    [InlineData(SimulationState.Paused)]
    [InlineData(SimulationState.Started)]
    [InlineData(SimulationState.Completed)]
    public void Finish_ToANonFinalState_IsAProgrammingError(SimulationState state)
    {
        var (machine, _, _) = MachineIn(SimulationState.Paused);

        Assert.Throws<ArgumentOutOfRangeException>(() => machine.Finish(state));
    }

    [Fact]
    public void TryBeginStop_OnAFinalSimulation_IsFalse()
    {
        var (machine, _, _) = MachineIn(SimulationState.Stopped);

        Assert.False(machine.TryBeginStop());
    }

    [Fact]
    public void NewMachine_IsCreated_WithTheGateClosed()
    {
        var recorder = new RecordingGate();
        var machine = new SimulationStateMachine(new FakeTimeProvider(), recorder);

        Assert.Equal(SimulationState.Created, machine.State);
        Assert.False(machine.IsStopping);
        Assert.Equal([GatePosition.Closed], recorder.Moves);
    }

    [Fact]
    public void RealTime_CountsOnlyTimeSpentStarted()
    {
        var (machine, _, time) = MachineIn(SimulationState.Paused);
        time.Advance(TimeSpan.FromSeconds(100));
        Assert.Equal(TimeSpan.Zero, machine.RealTime);

        machine.Request(SimulationState.Started);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(5), machine.RealTime);

        machine.Request(SimulationState.Paused);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(5), machine.RealTime);

        machine.Request(SimulationState.Started);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal((SimulationState.Started, TimeSpan.FromSeconds(7)), machine.Read());

        machine.Request(SimulationState.Stopped);
        time.Advance(TimeSpan.FromSeconds(1));
        machine.Finish(SimulationState.Stopped);
        time.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(TimeSpan.FromSeconds(8), machine.RealTime);
    }

    [Fact]
    public void RealTime_StopsWhenTheScriptEnds()
    {
        var (machine, _, time) = MachineIn(SimulationState.Started);
        time.Advance(TimeSpan.FromSeconds(3));

        machine.ScriptEnded();
        time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(TimeSpan.FromSeconds(3), machine.RealTime);
    }

    [Fact]
    public async Task ConcurrentRequests_LeaveTheGateInLineWithTheState()
    {
        var (machine, recorder, _) = MachineIn(SimulationState.Paused);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
        {
            for (var n = 0; n < 2_000; n++)
            {
                machine.Request((n + i) % 2 == 0 ? SimulationState.Started : SimulationState.Paused);
            }
        })));

        var expected = machine.State == SimulationState.Started ? GatePosition.Open : GatePosition.Closed;
        Assert.Equal(expected, recorder.Moves[^1]);
    }

    /// <summary>A machine driven into <paramref name="state"/> through its own transitions.</summary>
    private static (SimulationStateMachine Machine, RecordingGate Gate, FakeTimeProvider Time) MachineIn(SimulationState state)
    {
        var time = new FakeTimeProvider();
        var gate = new RecordingGate();
        var machine = new SimulationStateMachine(time, gate);
        switch (state)
        {
            case SimulationState.Created:
                break;
            case SimulationState.Paused:
                machine.Initialized();
                break;
            case SimulationState.Started:
                machine.Initialized();
                machine.Request(SimulationState.Started);
                break;
            case SimulationState.Completed:
                machine.Initialized();
                machine.Request(SimulationState.Started);
                machine.Request(SimulationState.Completed);
                break;
            default:
                machine.Request(SimulationState.Stopped);
                machine.Finish(state);
                break;
        }

        Assert.Equal(state, machine.State);
        return (machine, gate, time);
    }

    private sealed class RecordingGate : IPauseGate
    {
        public List<GatePosition> Moves { get; } = [];

        public void Move(GatePosition position) => Moves.Add(position);
    }
}
