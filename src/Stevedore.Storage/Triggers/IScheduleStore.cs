namespace Stevedore.Storage;

/// <summary>A schedule as the schedule store keeps it: the index by job, the payload, and the silo it last ran on.</summary>
public sealed record ScheduleEntry(string Id, string Job, DateTimeOffset CreatedAt);

/// <summary>
/// The index of schedules (by job, and by the silo that holds each active one) and their payloads. A schedule's
/// definition and bookkeeping are its grain's state; this store is what lets them be found without asking every grain.
/// </summary>
public interface IScheduleStore
{
    /// <summary>Adds a schedule with its payload. Harmless when it exists already (a retried create).</summary>
    Task InsertAsync(ScheduleEntry schedule, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default);

    /// <summary>A job's schedules, oldest first.</summary>
    Task<IReadOnlyList<ScheduleEntry>> ListByJobAsync(string job, CancellationToken cancellationToken = default);

    Task<ReadOnlyMemory<byte>?> GetPayloadAsync(string id, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Records the silo holding an active schedule (null: none, it is paused or finished).</summary>
    Task SetSiloAsync(string id, string? silo, CancellationToken cancellationToken = default);

    /// <summary>Schedules last held by <paramref name="silo"/>: to wake elsewhere when it dies.</summary>
    Task<IReadOnlyList<string>> ListBySiloAsync(string silo, CancellationToken cancellationToken = default);
}
