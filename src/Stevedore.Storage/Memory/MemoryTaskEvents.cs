using System.Collections.Concurrent;

namespace Stevedore.Storage.Memory;

/// <summary>Task change signals within one process (the embedded default has one silo).</summary>
public sealed class MemoryTaskEvents : ITaskEvents
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    public void Publish(string taskId)
    {
        if (_waiters.TryRemove(taskId, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    public Task NextChange(string taskId) =>
        _waiters.GetOrAdd(taskId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
}
