using Orleans.Placement;

namespace Stevedore.Grains;

/// <summary>
/// A worker node: the identity of one silo's worker service, through which grains reach it (to cancel a running
/// task) and which records its capacity, heartbeat and running tasks.
/// </summary>
[PreferLocalPlacement] // first called by its own silo's worker service
public sealed class WorkerNodeGrain(TimeProvider time) : Grain, IWorkerNodeGrain
{
    private IWorkerObserver? _observer;
    private int _slots;
    private IReadOnlyList<string> _running = [];
    private DateTimeOffset? _lastHeartbeat;

    public Task RegisterAsync(int slots, IWorkerObserver observer)
    {
        _slots = slots;
        _observer = observer;
        _lastHeartbeat = time.GetUtcNow();
        return Task.CompletedTask;
    }

    public Task HeartbeatAsync(IReadOnlyList<string> runningTaskIds)
    {
        _running = runningTaskIds;
        _lastHeartbeat = time.GetUtcNow();
        return Task.CompletedTask;
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
        Task.FromResult(new WorkerNodeStatus(this.GetPrimaryKeyString(), _slots, _running, _lastHeartbeat));
}
