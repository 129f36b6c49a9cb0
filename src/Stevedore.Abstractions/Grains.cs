using Orleans.Concurrency;

namespace Stevedore;

/// <summary>One job definition (key: job name). Owns its version, pause switch and cluster-wide run slots.</summary>
[Alias("stevedore.IJobGrain")]
public interface IJobGrain : IGrainWithStringKey
{
    [Alias("Get")] Task<JobInfo?> GetAsync();
    [Alias("Put")] Task<PutJobResult> PutAsync(JobSpec spec);
    [Alias("Delete")] Task<bool> DeleteAsync();
    [Alias("SetPaused")] Task<JobInfo?> SetPausedAsync(bool paused);

    /// <summary>
    /// Asks for a run slot for a task, the best of its job that <paramref name="partition"/> holds (its head);
    /// <paramref name="partition"/> is told when a refused slot may be free. With a limit, a free slot goes to the best
    /// head known across partitions: a request outranked by another partition's head is refused (<c>AtLimit</c>) and
    /// that partition is woken to claim it.
    /// </summary>
    [Alias("TryAcquireHead")] Task<AcquireResult> TryAcquireAsync(string taskId, int priority, int partition);

    /// <summary>
    /// A task better than the head <paramref name="partition"/> reported joined its waiting tasks of this job (a higher
    /// priority, or a retry of an older task): it is the partition's head now.
    /// </summary>
    [Alias("ReportHead"), OneWay] Task ReportHeadAsync(string taskId, int priority, int partition);

    /// <summary>
    /// The head <paramref name="partition"/> reported or asked with no longer waits there (cancelled, or it left the
    /// queue) and none of the job's tasks is left there: a slot kept for it goes to the next best head. A later head of
    /// that partition is kept.
    /// </summary>
    [Alias("WithdrawHead"), OneWay] Task WithdrawHeadAsync(string taskId, int partition);

    /// <summary>Gives back the slot of a task that ended or never started. Harmless when the task held none.</summary>
    [Alias("Release")] Task ReleaseAsync(string taskId);

    /// <summary>
    /// Asks room for <paramref name="count"/> new queued tasks under the job's <c>maxQueued</c>: all or none. An
    /// admission holds its room until the caller reports with <see cref="SettleAsync"/> that the tasks are stored (or
    /// failed to be); always settle what was admitted.
    /// </summary>
    [Alias("Admit")] Task<AdmitResult> AdmitAsync(int count);

    /// <summary>The tasks of an earlier admission are in the task store now, or will never be.</summary>
    [Alias("Settle"), OneWay] Task SettleAsync(int count);
}

/// <summary>Answer of <see cref="IJobGrain.AdmitAsync"/>: admitted, or how many wait against which limit.</summary>
[GenerateSerializer, Immutable, Alias("stevedore.AdmitResult")]
public sealed record AdmitResult([property: Id(0)] bool Admitted, [property: Id(1)] long Queued, [property: Id(2)] int MaxQueued);

/// <summary>
/// One queue partition (key: partition number). Holds the ids of ready tasks ordered by priority then age, and of
/// delayed tasks until they are due, and owns the lifecycle of its tasks: it is the one writer of their records,
/// from the start of each attempt to its end. Rebuilt from the task store when it activates.
/// </summary>
/// <remarks>
/// A task has no grain of its own: an activation per task cost more than the rest of its lifecycle together. The
/// partition starts the tasks it leases in the lease call itself, so a job change (<see cref="FenceAsync"/>), which
/// waits for a lease in progress, is never overtaken by a start with the old definition. The calls about one task
/// (<see cref="CompleteAsync"/>, <see cref="CancelAsync"/>, <see cref="ExpireLeaseAsync"/>, <see cref="HoldsSlotAsync"/>)
/// interleave with everything else, one at a time per task, so the partition never waits on one task's store write.
/// </remarks>
[Alias("stevedore.IQueuePartitionGrain")]
public interface IQueuePartitionGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Tasks stored as queued (new ones, from the application layer): the partition queues them, and keeps the records
    /// of a bounded number of them so that starting those reads nothing from the store.
    /// </summary>
    [Alias("EnqueueTasks"), AlwaysInterleave] Task EnqueueAsync(IReadOnlyList<TaskRecord> tasks);

    /// <summary>
    /// Starts up to <paramref name="max"/> startable tasks on worker node <paramref name="node"/>: each start is
    /// recorded, with a lease the node must renew, before the call returns. None when the best ready task is below
    /// <paramref name="minPriority"/> (the node was told of a better one, since taken or cancelled), and then
    /// <see cref="LeaseBatch.NextPriority"/> says what the partition holds.
    /// </summary>
    [Alias("LeaseAndStart")] Task<LeaseBatch> LeaseAsync(string node, int max, int minPriority);

    /// <summary>
    /// A worker's report of how attempt <paramref name="attempt"/> ended: the task ends, or is queued again. Safe to
    /// repeat: a report of an attempt already recorded redoes only what follows the record (slot, queue).
    /// </summary>
    [Alias("Complete"), AlwaysInterleave] Task<TaskRecord?> CompleteAsync(string taskId, int attempt, RunOutcome outcome);

    /// <summary>Cancels a task of this partition: at once when queued, by its worker when running.</summary>
    [Alias("Cancel"), AlwaysInterleave] Task<CancelResult> CancelAsync(string taskId);

    /// <summary>
    /// The lease of <paramref name="attempt"/> lapsed: its worker is gone (its containers were killed where they
    /// could be). The task runs again as a new attempt. Ignored when the task has moved on.
    /// </summary>
    [Alias("ExpireLease"), AlwaysInterleave] Task ExpireLeaseAsync(string taskId, int attempt);

    /// <summary>
    /// The job grain counted this task's run against a limit added while it ran (it started on the job's pass, without
    /// a slot): the run now holds a slot and must give it back when it ends; given back at once when it has ended.
    /// </summary>
    [Alias("HoldsSlot"), OneWay, AlwaysInterleave] Task HoldsSlotAsync(string taskId);

    /// <summary>A job that refused slots may have one again (resumed, or a run ended).</summary>
    [Alias("Unblock"), OneWay, AlwaysInterleave] Task UnblockAsync(string job);

    [Alias("Subscribe"), AlwaysInterleave] Task SubscribeAsync(string node, IWorkerObserver observer);

    /// <summary>
    /// The job changed; <paramref name="job"/> is its new state, null when it was deleted. The partition drops its
    /// pass for the job. Answers once no lease in progress can still start a task with the old state: every start
    /// after it is leased with the new one.
    /// </summary>
    [Alias("FenceJob")] Task FenceAsync(string jobName, JobInfo? job);
}

/// <summary>A worker node (key: node name), one per silo: its capacity, heartbeat and the tasks it runs.</summary>
[Alias("stevedore.IWorkerNodeGrain")]
public interface IWorkerNodeGrain : IGrainWithStringKey
{
    [Alias("Register")] Task RegisterAsync(int slots, IWorkerObserver observer);
    [Alias("Heartbeat")] Task HeartbeatAsync(IReadOnlyList<string> runningTaskIds);
    [Alias("CancelTask")] Task CancelTaskAsync(string taskId);
    [Alias("Status")] Task<WorkerNodeStatus> GetStatusAsync();
}

[GenerateSerializer, Immutable, Alias("stevedore.WorkerNodeStatus")]
public sealed record WorkerNodeStatus(
    [property: Id(0)] string Node,
    [property: Id(1)] int Slots,
    [property: Id(2)] IReadOnlyList<string> Running,
    [property: Id(3)] DateTimeOffset? LastHeartbeat);

/// <summary>The per-silo worker service, as seen by grains.</summary>
[Alias("stevedore.IWorkerObserver")]
public interface IWorkerObserver : IGrainObserver
{
    /// <summary>
    /// <paramref name="partition"/> holds ready tasks, the best of them at <paramref name="priority"/>: a node with a
    /// free slot leases from the partition with the best task first.
    /// </summary>
    [Alias("WorkAvailableAt"), OneWay] Task WorkAvailable(int partition, int priority);
    [Alias("Cancel"), OneWay] Task CancelTask(string taskId);

    /// <summary>
    /// The job was put, paused, resumed or deleted: hot containers of any other version than <paramref name="version"/>
    /// retire (all of them when it is null: the job is paused or gone). Sent by queue partition 0 from its fence.
    /// </summary>
    [Alias("JobChanged"), OneWay] Task JobChanged(string job, long? version);
}

/// <summary>
/// The janitor (key 0, so one activation in the cluster). An Orleans reminder wakes it every
/// <c>Stevedore:Retention:SweepInterval</c>; it then deletes finished tasks past their retention one small batch per
/// grain-timer tick until none is left, so neither the reminder nor any enqueue waits behind a long sweep.
/// </summary>
[Alias("stevedore.IJanitorGrain")]
public interface IJanitorGrain : IGrainWithIntegerKey
{
    /// <summary>Registers the sweep reminder (or updates its period). Idempotent: every silo calls it when it starts.</summary>
    [Alias("Start")] Task StartAsync();
}
