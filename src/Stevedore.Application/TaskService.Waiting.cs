using System.Runtime.CompilerServices;
using System.Text.Unicode;
using Stevedore.Storage;

namespace Stevedore.Application;

/// <summary>A synchronous invoke's answer: the task as it is when it finished or the wait ran out, and its result.</summary>
/// <param name="Task">The task record.</param>
/// <param name="Existing">The idempotency key named a task that existed already.</param>
/// <param name="Final">The task finished within the wait.</param>
/// <param name="Result">What the task wrote to its result file, when it finished and wrote one.</param>
public sealed record RunResult(TaskRecord Task, bool Existing, bool Final, ReadOnlyMemory<byte>? Result)
{
    /// <summary>Largest result a synchronous HTTP invoke answers inline.</summary>
    public const int MaxInlineResultBytes = 64 * 1024;

    /// <summary>The result as text when it is valid UTF-8 of at most 64 KiB; otherwise null (read it from the result call).</summary>
    public string? InlineText =>
        Result is { } bytes && bytes.Length <= MaxInlineResultBytes && Utf8.IsValid(bytes.Span)
            ? System.Text.Encoding.UTF8.GetString(bytes.Span)
            : null;
}

public sealed partial class TaskService
{
    /// <summary>
    /// How long a follower waits for a change signal before it reads the task again: signals are per process, and a
    /// task whose grain lives on another silo changes without one.
    /// </summary>
    private static readonly TimeSpan s_recheck = TimeSpan.FromSeconds(1);

    /// <summary>Enqueues a task and waits until it has finished or <paramref name="wait"/> has passed.</summary>
    public async Task<AppResult<RunResult>> RunAsync(string jobName, TaskDraft draft, long? waitSeconds, CancellationToken cancellationToken = default)
    {
        var errors = new FieldErrors();
        Validation.Wait(waitSeconds, errors);
        if (errors.Any)
        {
            // Checked before anything is enqueued: a refused call changes nothing.
            var job = await FindJobAsync(jobName);
            return job.Ok ? AppError.Invalid(errors) : job.Error!;
        }

        var enqueued = await EnqueueAsync(jobName, draft);
        if (!enqueued.Ok)
        {
            return enqueued.Error!;
        }

        var (task, existing) = enqueued.Value!;
        var waited = await WaitAsync(task.Id, TimeSpan.FromSeconds(waitSeconds ?? Validation.MaxWaitSeconds), cancellationToken);
        var now = waited.Ok ? waited.Value! : task;
        if (!now.Status.IsTerminal())
        {
            return new RunResult(now, existing, Final: false, Result: null);
        }

        return new RunResult(now, existing, Final: true, await content.GetResultAsync(now.Id, cancellationToken));
    }

    /// <summary>Waits until the task has finished or <paramref name="timeout"/> has passed; answers the task as it is then.</summary>
    public async Task<AppResult<TaskRecord>> WaitAsync(string id, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var current = await GetAsync(id);
        if (!current.Ok || current.Value!.Status.IsTerminal())
        {
            return current;
        }

        var last = current.Value!;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await foreach (var task in WatchAsync(id, deadline.Token))
            {
                last = task;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The wait ran out: answer the task as it is.
        }

        return last;
    }

    /// <summary>
    /// The task now and after each change of its state (status, attempt, cancel request, outcome), until it has
    /// finished or is removed. Wakes on the task's change signal; reads the store again at least once a second for a
    /// task whose grain lives on another silo.
    /// </summary>
    public async IAsyncEnumerable<TaskRecord> WatchAsync(string id, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!TaskIds.IsValid(id))
        {
            yield break;
        }

        TaskRecord? last = null;
        while (true)
        {
            // Taken before the read: a change between the read and the wait is not missed.
            var changed = events.NextChange(id);
            var now = await tasks.GetAsync(id, cancellationToken);
            if (now is null)
            {
                yield break;
            }

            if (last is null || !SameState(last, now))
            {
                last = now;
                yield return now;
            }

            if (now.Status.IsTerminal())
            {
                yield break;
            }

            try
            {
                await changed.WaitAsync(s_recheck, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Read the task again.
            }
        }
    }

    private static bool SameState(TaskRecord a, TaskRecord b) =>
        a.Status == b.Status && a.Attempt == b.Attempt && a.CancelRequested == b.CancelRequested && a.ExitCode == b.ExitCode
        && a.Error == b.Error && a.RunAfter == b.RunAfter && a.Node == b.Node && a.FinishedAt == b.FinishedAt;
}
