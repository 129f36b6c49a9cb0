namespace Stevedore.Execution.Worker;

/// <summary>What the worker does after an <see cref="EngineGate"/> step.</summary>
public enum EngineAction
{
    None,

    /// <summary>Lease no more tasks (the engine does not answer, or an attempt lost it): check it again at once.</summary>
    StopLeasing,

    /// <summary>The engine answers again: remove what attempts left on it while it was away, then report the sweep.</summary>
    Sweep,

    /// <summary>Swept: lease tasks again, from every partition.</summary>
    ResumeLeasing,
}

/// <summary>
/// Whether this node may take work, as its container engine comes and goes. Pure and not thread-safe (its owner
/// serializes the calls): the worker feeds it health checks, attempts that lost the engine and sweeps, and does what
/// it answers. The way back from away always passes a sweep, so no container an away spell left behind stays.
/// </summary>
public sealed class EngineGate
{
    private enum State
    {
        Up,
        Away,
        Sweeping,
    }

    private State _state = State.Up;

    /// <summary>True while the node may lease tasks.</summary>
    public bool Leasing => _state == State.Up;

    /// <summary>A health check answered (<paramref name="answers"/>) or not.</summary>
    public EngineAction Checked(bool answers) => (_state, answers) switch
    {
        (State.Up, false) => Go(State.Away, EngineAction.StopLeasing),
        (State.Away, true) => Go(State.Sweeping, EngineAction.Sweep),
        _ => EngineAction.None,
    };

    /// <summary>An attempt found the engine gone (<see cref="DriverFailure.EngineLost"/>), whatever the last check said.</summary>
    public EngineAction AttemptLostEngine() => _state == State.Up ? Go(State.Away, EngineAction.StopLeasing) : Go(State.Away, EngineAction.None);

    /// <summary>The sweep ended: <paramref name="done"/> when every leftover was removed, false when the engine went again.</summary>
    public EngineAction Swept(bool done) => _state switch
    {
        State.Sweeping when done => Go(State.Up, EngineAction.ResumeLeasing),
        State.Sweeping => Go(State.Away, EngineAction.None),
        // An attempt lost the engine during the sweep: the next answer sweeps again.
        _ => EngineAction.None,
    };

    private EngineAction Go(State state, EngineAction action)
    {
        _state = state;
        return action;
    }
}
