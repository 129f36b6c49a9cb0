using System.Globalization;
using System.Text.RegularExpressions;
using Stevedore.Storage;

namespace Stevedore.Application;

/// <summary>Every rule on every field of the API, with messages that say what to send instead.</summary>
public static partial class Validation
{
    public const int MaxTimeoutSeconds = 86_400;
    public const int MaxDelaySeconds = 604_800;
    public const int MaxBatch = 1000;
    public const int MaxListLimit = 1000;
    public const int DefaultListLimit = 50;
    public const int MaxRetentionDays = 3650;
    public const int MaxWaitSeconds = 300;
    public const int MaxTaskEnvironment = 24;
    public const int MaxTaskEnvironmentValue = 1024;
    public const int MaxQueuedLimit = 10_000_000;
    public const int MaxHotPerNode = 64;
    public const int MaxHotIdleSeconds = 86_400;

    // Patterns end with \z, not $: $ also matches before a final newline, which would let "name\n" through.
    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}\\z")]
    private static partial Regex JobNamePattern();

    // Docker's reference grammar: [domain[:port]/]path[:tag][@digest].
    [GeneratedRegex(@"^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?\z")]
    private static partial Regex ImagePattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*\\z")]
    private static partial Regex EnvNamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}\\z")]
    private static partial Regex LabelKeyPattern();

    public static string? CheckJobName(string? name) =>
        name is not null && JobNamePattern().IsMatch(name)
            ? null
            : $"job name '{name}' is invalid: use 1–63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit";

    public static JobSpec? Job(JobDraft draft, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(draft.Image))
        {
            errors.Add("image", "is required: a Docker image reference such as 'busybox:1.36' or 'registry:5000/team/job@sha256:…'");
        }
        else if (draft.Image.Length > 512 || !ImagePattern().IsMatch(draft.Image))
        {
            errors.Add("image", $"'{Shorten(draft.Image)}' is not a Docker image reference (expected [registry[:port]/]name[:tag][@digest], lowercase name)");
        }

        if (draft.Command is { } command)
        {
            if (command.Count > 256)
            {
                errors.Add("command", "has more than 256 items");
            }

            for (var i = 0; i < command.Count; i++)
            {
                if (command[i].Contains('\0', StringComparison.Ordinal))
                {
                    errors.Add($"command[{i}]", "must not contain NUL characters");
                }
            }
        }

        if (draft.Env is { } env)
        {
            if (env.Count > 256)
            {
                errors.Add("env", "has more than 256 variables");
            }

            foreach (var (name, value) in env)
            {
                if (!EnvNamePattern().IsMatch(name))
                {
                    errors.Add($"env.{name}", "is not a valid variable name: use letters, digits and '_', not starting with a digit");
                }
                else if (name.StartsWith("STEVEDORE_", StringComparison.Ordinal))
                {
                    errors.Add($"env.{name}", "names starting with STEVEDORE_ are set by Stevedore itself");
                }

                if (value.Contains('\0', StringComparison.Ordinal))
                {
                    errors.Add($"env.{name}", "must not contain NUL characters");
                }
            }
        }

        Range(errors, "timeoutSeconds", draft.TimeoutSeconds, 1, MaxTimeoutSeconds);
        Range(errors, "memoryMb", draft.MemoryMb, 6, 65_536, " (Docker refuses less than 6 MiB)");
        if (draft.Cpus is { } cpus && !(cpus >= 0.01 && cpus <= 64))
        {
            errors.Add("cpus", "must be a number from 0.01 to 64");
        }

        Range(errors, "maxConcurrency", draft.MaxConcurrency, 0, 100_000, " (0 means unlimited)");
        Range(errors, "retries", draft.Retries, 0, 20);
        Range(errors, "retryDelaySeconds", draft.RetryDelaySeconds, 0, MaxTimeoutSeconds);
        if (draft.RetryBackoff is { } backoff && !(backoff >= 1 && backoff <= 100))
        {
            errors.Add("retryBackoff", "must be a multiplier from 1 to 100");
        }

        if (draft.Network is { } network && network is not ("bridge" or "none"))
        {
            errors.Add("network", $"'{Shorten(network)}' is not supported: use 'bridge' or 'none'");
        }

        Range(errors, "priority", draft.Priority, 0, 2, " (2 runs first)");
        Range(errors, "retentionDays", draft.RetentionDays, 1, MaxRetentionDays, " (leave it out for Stevedore:Retention:FinishedTasks)");
        Triggers.TriggerValidation.Subscriptions(draft.Subscriptions, errors);
        Range(errors, "maxQueued", draft.MaxQueued, 0, MaxQueuedLimit, " (0 means unlimited)");
        var capabilities = ContainerFields(draft, errors);
        Range(errors, "hot.maxPerNode", draft.Hot?.MaxPerNode, 1, MaxHotPerNode, " (hot containers of this job on one worker node)");
        Range(errors, "hot.idleSeconds", draft.Hot?.IdleSeconds, 1, MaxHotIdleSeconds, " (how long an idle hot container is kept)");
        if (errors.Any)
        {
            return null;
        }

        return new JobSpec
        {
            Image = draft.Image!,
            Command = draft.Command is { Count: > 0 } c ? c.ToArray() : null,
            Env = draft.Env?.ToDictionary(StringComparer.Ordinal) ?? new Dictionary<string, string>(StringComparer.Ordinal),
            TimeoutSeconds = (int)(draft.TimeoutSeconds ?? JobSpec.DefaultTimeoutSeconds),
            MemoryMb = (int)(draft.MemoryMb ?? JobSpec.DefaultMemoryMb),
            Cpus = draft.Cpus ?? JobSpec.DefaultCpus,
            MaxConcurrency = (int)(draft.MaxConcurrency ?? 0),
            Retries = (int)(draft.Retries ?? 0),
            RetryDelaySeconds = (int)(draft.RetryDelaySeconds ?? JobSpec.DefaultRetryDelaySeconds),
            RetryBackoff = draft.RetryBackoff ?? JobSpec.DefaultRetryBackoff,
            Network = draft.Network ?? "bridge",
            Priority = (int)(draft.Priority ?? 0),
            RetentionDays = (int?)draft.RetentionDays,
            Subscriptions = draft.Subscriptions is { Count: > 0 } topics ? topics.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray() : [],
            MaxQueued = (int)(draft.MaxQueued ?? 0),
            Capabilities = capabilities,
            User = draft.User,
            ReadOnlyRootFilesystem = draft.ReadOnlyRootFilesystem ?? false,
            Hot = draft.Hot is { } hot
                ? new HotSpec
                {
                    MaxPerNode = (int)(hot.MaxPerNode ?? HotSpec.DefaultMaxPerNode),
                    IdleSeconds = (int)(hot.IdleSeconds ?? HotSpec.DefaultIdleSeconds),
                }
                : null,
        };
    }

    /// <summary>Checks a task's fields; the payload size is checked apart (it is a 413, not a 400).</summary>
    public static void Task(TaskDraft draft, FieldErrors errors)
    {
        Range(errors, "priority", draft.Priority, 0, 2, " (2 runs first)");
        Range(errors, "delaySeconds", draft.DelaySeconds, 0, MaxDelaySeconds);
        Range(errors, "timeoutSeconds", draft.TimeoutSeconds, 1, MaxTimeoutSeconds);
        if (draft.IdempotencyKey is { } key && (key.Length is 0 or > 256 || key.Any(char.IsControl)))
        {
            errors.Add("idempotencyKey", "must be 1–256 characters without control characters");
        }

        if (draft.Labels is { } labels)
        {
            if (labels.Count > 32)
            {
                errors.Add("labels", "has more than 32 labels");
            }

            foreach (var (name, value) in labels)
            {
                if (!LabelKeyPattern().IsMatch(name))
                {
                    errors.Add($"labels.{name}", "is not a valid label name: 1–63 characters of letters, digits, '.', '_', '/' or '-'");
                }

                if (value.Length > 256 || value.Any(char.IsControl))
                {
                    errors.Add($"labels.{name}", "value must be at most 256 characters without control characters");
                }
            }
        }

        if (draft.Environment is { } environment && (environment.Count > MaxTaskEnvironment
            || environment.Any(kv => !EnvNamePattern().IsMatch(kv.Key) || kv.Value.Length > MaxTaskEnvironmentValue || kv.Value.Any(char.IsControl))))
        {
            errors.Add("environment", $"must hold at most {MaxTaskEnvironment} variables with valid names and values of at most {MaxTaskEnvironmentValue} characters without control characters");
        }
    }

    public static TaskQuery? TaskList(TaskListDraft draft, FieldErrors errors)
    {
        if (draft.Job is { } job && CheckJobName(job) is { } jobError)
        {
            errors.Add("job", jobError);
        }

        TaskRunStatus? status = null;
        if (draft.Status is { } text)
        {
            if (TaskRunStatusExtensions.TryParseWire(text, out var parsed))
            {
                status = parsed;
            }
            else
            {
                errors.Add("status", $"'{Shorten(text)}' is not a status: use queued, running, succeeded, failed, timed_out or cancelled");
            }
        }

        KeyValuePair<string, string>? label = null;
        if (draft.Label is { } labelText)
        {
            var colon = labelText.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                errors.Add("label", "must be key:value, e.g. label=customer:acme");
            }
            else if (!LabelKeyPattern().IsMatch(labelText[..colon]) || labelText.Length - colon - 1 > 256 || labelText[(colon + 1)..].Any(char.IsControl))
            {
                errors.Add("label", "must be key:value with a label name (letters, digits, '.', '_', '/', '-') and a value of at most 256 characters without control characters");
            }
            else
            {
                label = new(labelText[..colon], labelText[(colon + 1)..]);
            }
        }

        var limit = DefaultListLimit;
        if (draft.Limit is { } limitText &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxListLimit))
        {
            errors.Add("limit", $"must be a whole number from 1 to {MaxListLimit}");
        }

        if (draft.Cursor is { } cursor && !TaskIds.IsValid(cursor))
        {
            errors.Add("cursor", "is not a cursor this API returned (pass nextCursor from the previous page)");
        }

        return errors.Any ? null : new TaskQuery { Job = draft.Job, Status = status, Label = label, Limit = limit, Cursor = draft.Cursor };
    }

    /// <summary>How long a synchronous invoke may wait for its task to finish (field <c>wait</c>, 0 = do not wait).</summary>
    public static void Wait(long? seconds, FieldErrors errors) =>
        Range(errors, "wait", seconds, 0, MaxWaitSeconds, " seconds (0 answers at once)");

    private static void Range(FieldErrors errors, string field, long? value, long min, long max, string hint = "")
    {
        if (value is { } v && (v < min || v > max))
        {
            errors.Add(field, $"must be a whole number from {min} to {max}{hint}; got {v}");
        }
    }

    internal static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}
