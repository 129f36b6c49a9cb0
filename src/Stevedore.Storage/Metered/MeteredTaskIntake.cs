using static System.Diagnostics.Stopwatch;
using static Stevedore.Storage.Metered.StoreTiming;

namespace Stevedore.Storage.Metered;

/// <summary>Any task intake, with the latency of each call recorded (store "tasks": a new task's record, payload and key).</summary>
public sealed class MeteredTaskIntake(ITaskIntake inner) : ITaskIntake
{
    private const string Store = "tasks";

    public Task<AddedTask> AddAsync(NewTask task, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.AddAsync(task, cancellationToken), Store, "add");

    public Task<IReadOnlyList<AddedTask>> AddManyAsync(IReadOnlyList<NewTask> tasks, CancellationToken cancellationToken = default) =>
        Timed(GetTimestamp(), inner.AddManyAsync(tasks, cancellationToken), Store, "add_many");
}
