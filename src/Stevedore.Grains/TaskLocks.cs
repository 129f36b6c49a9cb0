namespace Stevedore.Grains;

/// <summary>
/// One thing at a time per task inside a queue partition, whose calls about different tasks interleave: a caller
/// waits until no one holds the task, then holds it until it disposes what <see cref="AcquireAsync"/> gave it.
/// Callers wait in no set order. Not thread-safe: it relies on the grain running one turn at a time.
/// </summary>
internal sealed class TaskLocks
{
    private readonly Dictionary<string, TaskCompletionSource> _held = new(StringComparer.Ordinal);

    /// <summary>Tasks held now.</summary>
    public int Count => _held.Count;

    public bool IsHeld(string taskId) => _held.ContainsKey(taskId);

    public async ValueTask<Held> AcquireAsync(string taskId)
    {
        while (_held.TryGetValue(taskId, out var holder))
        {
            await holder.Task;
        }

        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _held[taskId] = mine;
        return new Held(this, taskId, mine);
    }

    /// <summary>A task held; disposing it lets the next caller in (twice is harmless).</summary>
    public sealed class Held(TaskLocks locks, string taskId, TaskCompletionSource mine) : IDisposable
    {
        public void Dispose()
        {
            if (locks._held.TryGetValue(taskId, out var holder) && holder == mine)
            {
                locks._held.Remove(taskId);
            }

            mine.TrySetResult();
        }
    }
}
