using Microsoft.Extensions.Options;
using Stevedore.Storage;

namespace Stevedore.Application;

/// <summary>
/// The log followers of this node: admits them under the caps, and gives the followers of one task one shared watch
/// of its status, so a hundred followers of a task cost the store one status read per interval, not a hundred.
/// </summary>
public sealed class LogFollowers(ITaskStore tasks, ITaskEvents events, IOptions<LogOptions> options, TimeProvider time)
{
    /// <summary>How often a watch reads its task's status when this node hears of no change (the task's grain may live elsewhere).</summary>
    public static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan s_retryAfter = TimeSpan.FromSeconds(5);

    private readonly ITaskStore _tasks = tasks;
    private readonly ITaskEvents _events = events;
    private readonly TimeProvider _time = time;
    private readonly LogOptions _options = options.Value;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TaskWatch> _watches = new(StringComparer.Ordinal);
    private int _followers;

    /// <summary>Followers on this node now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _followers;
            }
        }
    }

    /// <summary>Joins the followers of a task; the caller must dispose the returned follower when it stops.</summary>
    public AppResult<Follower> Join(string taskId)
    {
        lock (_lock)
        {
            if (_followers >= _options.MaxFollowersPerNode)
            {
                return AppError.Busy(
                    $"This node streams {_followers} logs already, its limit ({LogOptions.Section}:MaxFollowersPerNode); read the log without follow=true, or try again later.",
                    s_retryAfter);
            }

            if (!_watches.TryGetValue(taskId, out var watch))
            {
                _watches[taskId] = watch = new TaskWatch(this, taskId);
                watch.Start();
            }
            else if (watch.Followers >= _options.MaxFollowersPerTask)
            {
                return AppError.Busy(
                    $"Task {taskId} has {watch.Followers} followers on this node already, its limit ({LogOptions.Section}:MaxFollowersPerTask); read the log without follow=true, or try again later.",
                    s_retryAfter);
            }

            watch.Followers++;
            _followers++;
            return new Follower(this, watch);
        }
    }

    private void Leave(TaskWatch watch)
    {
        lock (_lock)
        {
            _followers--;
            if (--watch.Followers == 0)
            {
                _watches.Remove(watch.TaskId);
                watch.Stop();
            }
        }
    }

    /// <summary>One follower's view of the shared watch.</summary>
    public sealed class Follower : IDisposable
    {
        private readonly LogFollowers _owner;
        private readonly TaskWatch _watch;
        private bool _disposed;

        internal Follower(LogFollowers owner, TaskWatch watch)
        {
            _owner = owner;
            _watch = watch;
        }

        /// <summary>The task as last read (null: gone) and a task that completes when it is read again.</summary>
        public Task<(TaskRecord? Task, Task Next)> CurrentAsync() => _watch.CurrentAsync();

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                _owner.Leave(_watch);
            }
        }
    }

    /// <summary>Reads one task's status for all its followers on this node, until the last one leaves or the task ends.</summary>
    internal sealed class TaskWatch(LogFollowers owner, string taskId)
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Lock _lock = new();
        private TaskCompletionSource<(TaskRecord? Task, Task Next)> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string TaskId { get; } = taskId;

        /// <summary>Guarded by the owner's lock.</summary>
        public int Followers { get; set; }

        public void Start() => _ = Task.Run(RunAsync);

        // Not disposed: the loop may still be looking at the token; nothing here needs freeing.
        public void Stop() => _stop.Cancel();

        public Task<(TaskRecord? Task, Task Next)> CurrentAsync()
        {
            lock (_lock)
            {
                return _first.Task;
            }
        }

        private async Task RunAsync()
        {
            var stop = _stop.Token;
            (TaskRunStatus, int)? seen = null;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    var changed = owner._events.NextChange(TaskId);
                    TaskRecord? task;
                    try
                    {
                        task = await owner._tasks.GetAsync(TaskId, stop);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The store is away: followers keep what they saw last; try again at the next interval.
                        await Task.Delay(StatusInterval, owner._time, stop);
                        continue;
                    }

                    // Followers wake only when something they act on changed: gone, status or attempt.
                    var state = task is null ? ((TaskRunStatus, int)?)null : (task.Status, task.Attempt);
                    if (seen is null || state != seen || task is null)
                    {
                        Publish(task);
                    }

                    seen = state;
                    if (task is null || task.Status.IsTerminal())
                    {
                        return;
                    }

                    await Task.WhenAny(changed, Task.Delay(StatusInterval, owner._time, stop));
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The last follower left.
            }
        }

        private void Publish(TaskRecord? task)
        {
            TaskCompletionSource next;
            lock (_lock)
            {
                next = _next;
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var current = (task, (Task)_next.Task);
                if (_first.Task.IsCompleted)
                {
                    _first = new TaskCompletionSource<(TaskRecord? Task, Task Next)>(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                _first.SetResult(current);
            }

            next.TrySetResult();
        }
    }
}
