using System.Diagnostics;

namespace Stevedore.Telemetry;

/// <summary>
/// Stevedore's spans (activity source <c>Stevedore</c>): one trace per task, from its enqueue through its queue
/// wait, each run (with the container calls) and each completion. A task keeps its trace context on its record
/// (<see cref="TaskRecord.TraceParent"/>), so whichever silo runs it later continues the same trace; the container
/// gets it as <c>TRACEPARENT</c>. Without a listener (tracing off) no span is made and a caller's own
/// <c>traceparent</c> is still carried through to the container.
/// </summary>
public static class StevedoreTracing
{
    public const string SourceName = "Stevedore";

    /// <summary>Every span name of a task's trace starts with this.</summary>
    public const string SpanPrefix = "stevedore.task.";

    public static readonly ActivitySource Source = new(SourceName, "1.0");

    /// <summary>A well-formed W3C <c>traceparent</c> (version 00, non-zero ids); anything else is ignored, as the standard says.</summary>
    public static bool IsTraceParent(string? value) =>
        value is { Length: 55 } && value.StartsWith("00-", StringComparison.Ordinal) && value[35] == '-' && value[52] == '-'
        && ActivityContext.TryParse(value, null, out var context) && context.TraceId != default && context.SpanId != default;

    /// <summary>The enqueue span, a child of the request's (which carries the caller's <c>traceparent</c>).</summary>
    public static Activity? StartEnqueue(string job, int tasks)
    {
        var activity = Source.StartActivity(SpanPrefix + "enqueue", ActivityKind.Internal);
        activity?.SetTag("stevedore.job", job);
        activity?.SetTag("stevedore.tasks", tasks);
        return activity;
    }

    /// <summary>The context a new task keeps: the enqueue span's, else the caller's own <c>traceparent</c> if well-formed.</summary>
    public static string? ContextToKeep(Activity? enqueue, string? callers) =>
        enqueue?.Id ?? (IsTraceParent(callers) ? callers : null);

    /// <summary>The wait of a task in its queue, from when it could run to its start, as a finished span.</summary>
    public static void RecordQueued(TaskRecord task, DateTimeOffset readySince, DateTimeOffset startedAt, string node)
    {
        if (!Source.HasListeners() || !TryParent(task.TraceParent, out var parent))
        {
            return;
        }

        using var activity = Source.StartActivity(SpanPrefix + "queued", ActivityKind.Internal, parent, startTime: readySince);
        if (activity is null)
        {
            return;
        }

        activity.SetTag("stevedore.task_id", task.Id);
        activity.SetTag("stevedore.job", task.Job);
        activity.SetTag("stevedore.node", node);
        activity.SetEndTime(startedAt.UtcDateTime);
    }

    /// <summary>One run of a task on a worker: the container calls and the completion are its children.</summary>
    public static Activity? StartRun(RunAssignment assignment, string node)
    {
        if (!Source.HasListeners() || !TryParent(assignment.TraceParent, out var parent))
        {
            return null;
        }

        var activity = Source.StartActivity(SpanPrefix + "run", ActivityKind.Internal, parent);
        activity?.SetTag("stevedore.task_id", assignment.TaskId);
        activity?.SetTag("stevedore.job", assignment.Job.Name);
        activity?.SetTag("stevedore.attempt", assignment.Attempt);
        activity?.SetTag("stevedore.node", node);
        return activity;
    }

    /// <summary>A step of a task (e.g. its completion): a child of the current span, else of the task's kept context.</summary>
    public static Activity? StartStep(string step, TaskRecord task)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Activity.Current is not null || !TryParent(task.TraceParent, out var parent)
            ? Source.StartActivity(SpanPrefix + step, ActivityKind.Internal)
            : Source.StartActivity(SpanPrefix + step, ActivityKind.Internal, parent);
        activity?.SetTag("stevedore.task_id", task.Id);
        activity?.SetTag("stevedore.job", task.Job);
        return activity;
    }

    /// <summary>The <c>TRACEPARENT</c> a container sees: the run span's, else the task's kept context.</summary>
    public static string? ForContainer(Activity? run, string? kept) => run?.Id ?? kept;

    /// <summary>Marks how a task step ended.</summary>
    public static void Outcome(Activity? activity, TaskRunStatus status, string? error)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("stevedore.status", status.ToWire());
        if (status is TaskRunStatus.Failed or TaskRunStatus.TimedOut)
        {
            activity.SetStatus(ActivityStatusCode.Error, error);
        }
    }

    private static bool TryParent(string? traceParent, out ActivityContext parent)
    {
        parent = default;
        return traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out parent);
    }
}
