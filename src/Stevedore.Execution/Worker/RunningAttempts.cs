using System.Collections.Concurrent;

namespace Stevedore.Execution.Worker;

/// <summary>The attempts this worker node runs now, by task id: how to cut each short, its log, and when it ends.</summary>
internal sealed class RunningAttempts
{
    private readonly ConcurrentDictionary<string, RunningAttempt> _runs = new(StringComparer.Ordinal);

    public IReadOnlyList<string> TaskIds => _runs.Keys.ToList();

    public IEnumerable<RunningAttempt> All => _runs.Values;

    /// <summary>The tasks whose attempt has not left the container driver yet: their containers are in use.</summary>
    public IReadOnlySet<string> InDriverTaskIds => _runs.Values.Where(r => !r.LeftDriver).Select(r => r.TaskId).ToHashSet(StringComparer.Ordinal);

    public bool Contains(string taskId) => _runs.ContainsKey(taskId);

    public bool TryGet(string taskId, out RunningAttempt run) => _runs.TryGetValue(taskId, out run!);

    public RunningAttempt Add(string taskId)
    {
        var run = new RunningAttempt(taskId);
        _runs[taskId] = run;
        return run;
    }

    public void Remove(string taskId) => _runs.TryRemove(taskId, out _);

    public void CancelAll()
    {
        foreach (var run in _runs.Values)
        {
            run.Cancel.Cancel();
        }
    }

    /// <summary>Completes when every attempt running now has ended and reported (or given up reporting).</summary>
    public Task WhenAllEnded() => Task.WhenAll(_runs.Values.Select(r => r.Completion));
}

/// <summary>One attempt in this node's hands, from its lease to its reported outcome.</summary>
internal sealed class RunningAttempt(string taskId)
{
    public string TaskId { get; } = taskId;
    public CancellationTokenSource Cancel { get; } = new();
    public Task Completion { get; set; } = Task.CompletedTask;
    /// <summary>Set while the container runs: the node's flush loop moves its buffered output to the log store.</summary>
    public TaskLogWriter? Log { get; set; }
    /// <summary>Set once the driver has returned (or given up): whatever container the attempt had is no longer in use.</summary>
    public volatile bool LeftDriver;
}
