namespace Stevedore.Storage.Memory;

public sealed class MemoryScheduleStore : IScheduleStore
{
    private readonly Dictionary<string, (ScheduleEntry Entry, ReadOnlyMemory<byte> Payload, string? Silo)> _schedules = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public Task InsertAsync(ScheduleEntry schedule, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _schedules.TryAdd(schedule.Id, (schedule, payload.ToArray(), null));
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ScheduleEntry>> ListByJobAsync(string job, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<ScheduleEntry>>(_schedules.Values
                .Where(s => s.Entry.Job == job)
                .Select(s => s.Entry)
                .OrderBy(s => s.CreatedAt)
                .ThenBy(s => s.Id, StringComparer.Ordinal)
                .ToList());
        }
    }

    public Task<ReadOnlyMemory<byte>?> GetPayloadAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<ReadOnlyMemory<byte>?>(_schedules.TryGetValue(id, out var s) ? s.Payload : (ReadOnlyMemory<byte>?)null);
        }
    }

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult(_schedules.Remove(id));
        }
    }

    public Task SetSiloAsync(string id, string? silo, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_schedules.TryGetValue(id, out var s))
            {
                _schedules[id] = s with { Silo = silo };
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ListBySiloAsync(string silo, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<string>>(_schedules.Values.Where(s => s.Silo == silo).Select(s => s.Entry.Id).ToList());
        }
    }
}
