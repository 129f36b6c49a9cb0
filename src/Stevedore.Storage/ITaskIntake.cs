namespace Stevedore.Storage;

/// <summary>
/// A task to store: its record (queued), its payload, and — when <see cref="TaskRecord.IdempotencyKey"/> is set — the
/// claim on that key for the record's job. A claim made before <paramref name="KeyNotBefore"/> has lapsed and is taken
/// over; the new claim is dated <see cref="TaskRecord.CreatedAt"/>.
/// </summary>
public sealed record NewTask(TaskRecord Record, ReadOnlyMemory<byte> Payload, DateTimeOffset KeyNotBefore);

/// <summary>What became of a <see cref="NewTask"/>: stored, or an existing task that holds its idempotency key.</summary>
public readonly record struct AddedTask(TaskRecord Task, bool Existing);

/// <summary>
/// Where new tasks come in. A task's record, its payload and its idempotency key's claim are stored together: a
/// reader never sees a task without its payload, and a key is never claimed by a task that was not stored.
/// </summary>
public interface ITaskIntake
{
    /// <summary>
    /// Stores one task, unless a stored task holds its idempotency key (then returns that task). Concurrent calls may
    /// share one commit; a caller whose task cannot be stored gets the error alone, the others are stored.
    /// </summary>
    Task<AddedTask> AddAsync(NewTask task, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores several tasks in one commit; the results are in the same order. When two of them carry the same
    /// idempotency key, the first is stored and the second answers with it.
    /// </summary>
    Task<IReadOnlyList<AddedTask>> AddManyAsync(IReadOnlyList<NewTask> tasks, CancellationToken cancellationToken = default);
}
