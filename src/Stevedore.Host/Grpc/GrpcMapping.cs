using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Stevedore.Application;
using V1 = Stevedore.Api.V1;

namespace Stevedore.Host.Grpc;

/// <summary>Messages of stevedore.v1 to drafts and back: shape only, every rule stays in the application layer.</summary>
public static class GrpcMapping
{
    public static JobDraft ToDraft(V1.JobSpec? spec) => spec is null ? new JobDraft() : new JobDraft
    {
        Image = spec.Image.Length == 0 ? null : spec.Image,
        Command = spec.Command.Count == 0 ? null : spec.Command,
        Env = spec.Env.Count == 0 ? null : spec.Env,
        TimeoutSeconds = spec.HasTimeoutSeconds ? spec.TimeoutSeconds : null,
        MemoryMb = spec.HasMemoryMb ? spec.MemoryMb : null,
        Cpus = spec.HasCpus ? spec.Cpus : null,
        MaxConcurrency = spec.HasMaxConcurrency ? spec.MaxConcurrency : null,
        Retries = spec.HasRetries ? spec.Retries : null,
        RetryDelaySeconds = spec.HasRetryDelaySeconds ? spec.RetryDelaySeconds : null,
        RetryBackoff = spec.HasRetryBackoff ? spec.RetryBackoff : null,
        Network = spec.HasNetwork ? spec.Network : null,
        Priority = spec.HasPriority ? spec.Priority : null,
        Subscriptions = spec.Subscriptions.Count == 0 ? null : spec.Subscriptions,
        MaxQueued = spec.HasMaxQueued ? spec.MaxQueued : null,
        Capabilities = spec.Capabilities.Count == 0 ? null : spec.Capabilities,
        User = spec.HasUser ? spec.User : null,
        ReadOnlyRootFilesystem = spec.HasReadOnlyRootFilesystem ? spec.ReadOnlyRootFilesystem : null,
        RetentionDays = spec.HasRetentionDays ? spec.RetentionDays : null,
        Hot = spec.Hot is { } hot
            ? new HotDraft { MaxPerNode = hot.HasMaxPerNode ? hot.MaxPerNode : null, IdleSeconds = hot.HasIdleSeconds ? hot.IdleSeconds : null }
            : null,
    };

    public static TaskDraft ToDraft(V1.TaskInput? input) => input is null ? new TaskDraft() : new TaskDraft
    {
        // The message owns its bytes: no copy.
        Payload = input.Payload.Memory,
        Priority = input.HasPriority ? input.Priority : null,
        DelaySeconds = input.HasDelaySeconds ? input.DelaySeconds : null,
        TimeoutSeconds = input.HasTimeoutSeconds ? input.TimeoutSeconds : null,
        IdempotencyKey = input.HasIdempotencyKey ? input.IdempotencyKey : null,
        Labels = input.Labels.Count == 0 ? null : input.Labels,
    };

    public static V1.Job ToMessage(JobInfo job)
    {
        var spec = new V1.JobSpec
        {
            Image = job.Spec.Image,
            TimeoutSeconds = job.Spec.TimeoutSeconds,
            MemoryMb = job.Spec.MemoryMb,
            Cpus = job.Spec.Cpus,
            MaxConcurrency = job.Spec.MaxConcurrency,
            Retries = job.Spec.Retries,
            RetryDelaySeconds = job.Spec.RetryDelaySeconds,
            RetryBackoff = job.Spec.RetryBackoff,
            Network = job.Spec.Network,
            Priority = job.Spec.Priority,
            MaxQueued = job.Spec.MaxQueued,
            ReadOnlyRootFilesystem = job.Spec.ReadOnlyRootFilesystem,
        };
        if (job.Spec.User is { } user)
        {
            spec.User = user;
        }

        if (job.Spec.RetentionDays is { } retentionDays)
        {
            spec.RetentionDays = retentionDays;
        }

        if (job.Spec.Hot is { } hot)
        {
            spec.Hot = new V1.HotSpec { MaxPerNode = hot.MaxPerNode, IdleSeconds = hot.IdleSeconds };
        }

        spec.Command.AddRange(job.Spec.Command ?? []);
        spec.Subscriptions.AddRange(job.Spec.Subscriptions);
        spec.Capabilities.AddRange(job.Spec.Capabilities);
        foreach (var (key, value) in job.Spec.Env)
        {
            spec.Env[key] = value;
        }

        return new V1.Job
        {
            Name = job.Name,
            Spec = spec,
            Paused = job.Paused,
            Version = job.Version,
            CreatedAt = Timestamp.FromDateTimeOffset(job.CreatedAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(job.UpdatedAt),
        };
    }

    public static V1.JobStats ToMessage(JobStats stats)
    {
        var message = new V1.JobStats { Job = stats.Job, RunningNow = stats.RunningNow, QueuedNow = stats.QueuedNow };
        foreach (var (status, count) in stats.Counts)
        {
            message.Counts[status.ToWire()] = count;
        }

        return message;
    }

    public static V1.TaskInfo ToMessage(TaskRecord task)
    {
        var message = new V1.TaskInfo
        {
            Id = task.Id,
            Job = task.Job,
            JobVersion = task.JobVersion,
            Status = ToMessage(task.Status),
            Priority = task.Priority,
            Attempt = task.Attempt,
            MaxAttempts = task.MaxAttempts,
            CreatedAt = Timestamp.FromDateTimeOffset(task.CreatedAt),
            StartedAt = Time(task.StartedAt),
            FinishedAt = Time(task.FinishedAt),
            RunAfter = Time(task.RunAfter),
            CancelRequested = task.CancelRequested,
        };
        if (task.ExitCode is { } exitCode)
        {
            message.ExitCode = exitCode;
        }

        if (task.Error is { } error)
        {
            message.Error = error;
        }

        if (task.Node is { } node)
        {
            message.Node = node;
        }

        if (task.RetryOf is { } retryOf)
        {
            message.RetryOf = retryOf;
        }

        if (task.TimeoutSeconds is { } timeout)
        {
            message.TimeoutSeconds = timeout;
        }

        foreach (var (key, value) in task.Labels)
        {
            message.Labels[key] = value;
        }

        foreach (var a in task.Attempts)
        {
            var attempt = new V1.Attempt
            {
                Number = a.Number,
                StartedAt = Timestamp.FromDateTimeOffset(a.StartedAt),
                FinishedAt = Time(a.FinishedAt),
                Status = ToMessage(a.Status),
            };
            if (a.Node is { } attemptNode)
            {
                attempt.Node = attemptNode;
            }

            if (a.ExitCode is { } attemptExit)
            {
                attempt.ExitCode = attemptExit;
            }

            if (a.Error is { } attemptError)
            {
                attempt.Error = attemptError;
            }

            message.Attempts.Add(attempt);
        }

        return message;
    }

    public static V1.TaskState ToMessage(TaskRunStatus status) => status switch
    {
        TaskRunStatus.Queued => V1.TaskState.Queued,
        TaskRunStatus.Running => V1.TaskState.Running,
        TaskRunStatus.Succeeded => V1.TaskState.Succeeded,
        TaskRunStatus.Failed => V1.TaskState.Failed,
        TaskRunStatus.TimedOut => V1.TaskState.TimedOut,
        TaskRunStatus.Cancelled => V1.TaskState.Cancelled,
        _ => V1.TaskState.Unspecified,
    };

    /// <summary>The status's name in the HTTP API, for the one validation of listing filters; unknown numbers pass through to be refused.</summary>
    public static string? ToWire(V1.TaskState status) => status switch
    {
        V1.TaskState.Unspecified => null,
        V1.TaskState.Queued => "queued",
        V1.TaskState.Running => "running",
        V1.TaskState.Succeeded => "succeeded",
        V1.TaskState.Failed => "failed",
        V1.TaskState.TimedOut => "timed_out",
        V1.TaskState.Cancelled => "cancelled",
        _ => ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static ByteString Bytes(ReadOnlyMemory<byte> bytes) => UnsafeByteOperations.UnsafeWrap(bytes);

    internal static Timestamp? Time(DateTimeOffset? value) => value is { } v ? Timestamp.FromDateTimeOffset(v) : null;
}
