using Orleans.Placement;

namespace Stevedore.Grains;

/// <summary>
/// A worker node: the identity of one silo's worker service, through which grains reach it (to cancel a running
/// task) and which records its capacity, heartbeat and running tasks (Orleans grain state: with PostgreSQL, the
/// ADO.NET persistence provider, so a node's last known state outlives its silo).
/// </summary>
[PreferLocalPlacement] // first called by its own silo's worker service
public sealed class WorkerNodeGrain(
    [PersistentState("worker-node")] IPersistentState<WorkerNodeState> state, TimeProvider time) : Grain, IWorkerNodeGrain
{
    private IWorkerObserver? _observer;

    public async Task RegisterAsync(int slots, IWorkerObserver observer)
    {
        _observer = observer;
        state.State = state.State with { Slots = slots, LastHeartbeat = time.GetUtcNow(), RegisteredAt = time.GetUtcNow() };
        await state.WriteStateAsync();
    }

    public async Task HeartbeatAsync(IReadOnlyList<string> runningTaskIds)
    {
        state.State = state.State with { Running = runningTaskIds.ToArray(), LastHeartbeat = time.GetUtcNow() };
        await state.WriteStateAsync();
    }

    public Task CancelTaskAsync(string taskId)
    {
        if (_observer is { } observer)
        {
            _ = observer.CancelTask(taskId);
        }

        return Task.CompletedTask;
    }

    public Task<WorkerNodeStatus> GetStatusAsync() =>
        Task.FromResult(new WorkerNodeStatus(this.GetPrimaryKeyString(), state.State.Slots, state.State.Running, state.State.LastHeartbeat));
}

/// <summary>What a worker node grain keeps. Renaming it breaks stored rows (the serializer writes its alias).</summary>
[GenerateSerializer, Alias("stevedore.WorkerNodeState")]
public sealed record WorkerNodeState
{
    [Id(0)] public int Slots { get; init; }
    [Id(1)] public string[] Running { get; init; } = [];
    [Id(2)] public DateTimeOffset? LastHeartbeat { get; init; }
    [Id(3)] public DateTimeOffset? RegisteredAt { get; init; }
}
