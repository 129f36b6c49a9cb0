using System.ComponentModel;
using System.Text.Json;
using Google.Protobuf;
using Spectre.Console;
using Spectre.Console.Cli;
using Stevedore.Client;

namespace Stevedore.Cli;

// Inside the namespace: the API's messages.
using Stevedore.Api.V1;

public sealed class TaskQueueSettings : PayloadSettings
{
    [CommandArgument(0, "<JOB>")]
    [Description("The job to run")]
    public string Job { get; set; } = "";

    [CommandOption("--priority <N>")]
    [Description("0 to 2, 2 runs first (default: the job's)")]
    public long? Priority { get; set; }

    [CommandOption("--delay <DURATION>")]
    [Description("Start no earlier than this from now: 90, 30s, 5m, 1h")]
    public string? Delay { get; set; }

    [CommandOption("--timeout <DURATION>")]
    [Description("This task's timeout (default: the job's)")]
    public string? Timeout { get; set; }

    [CommandOption("-l|--label <KEY=VALUE>")]
    [Description("A label; repeat for more")]
    public string[] Labels { get; set; } = [];

    [CommandOption("--idempotency-key <KEY>")]
    [Description("The same key for the same job within 24 h gives the existing task")]
    public string? IdempotencyKey { get; set; }

    [CommandOption("-w|--wait")]
    [Description("Stream the log live and exit with the container's exit code, like docker run")]
    public bool Wait { get; set; }
}

/// <summary><c>stevedore task queue JOB [options] [--wait]</c>: prints the task id, or with --wait runs it like docker run.</summary>
public sealed class TaskQueueCommand : ClientCommand<TaskQueueSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, TaskQueueSettings s, CancellationToken ct)
    {
        var input = new TaskInput { Payload = await s.ReadPayloadAsync(ct) };
        foreach (var (key, value) in Check(Parsing.Pairs(s.Labels, "--label", '=', out var labelError), labelError))
        {
            input.Labels[key] = value;
        }

        if (s.Priority is { } priority)
        {
            input.Priority = priority;
        }

        if (s.Delay is { } delay)
        {
            input.DelaySeconds = Check(Parsing.Seconds(delay, "--delay", out var e), e);
        }

        if (s.Timeout is { } timeout)
        {
            input.TimeoutSeconds = Check(Parsing.Seconds(timeout, "--timeout", out var e), e);
        }

        if (s.IdempotencyKey is { } idempotencyKey)
        {
            input.IdempotencyKey = idempotencyKey;
        }

        var task = await client.QueueAsync(s.Job, input, ct);
        if (!s.Wait)
        {
            if (s.Json)
            {
                Output.Json(Views.Task(task));
            }
            else
            {
                Console.Out.WriteLine(task.Id);
            }

            return ExitCodes.Ok;
        }

        Console.Error.WriteLine($"task {task.Id}");
        await TaskLogCommand.CopyLogAsync(client, task.Id, follow: true, LogStreamSelector.All, ct);
        var finished = await client.WaitAsync(task.Id, ct);
        if (s.Json)
        {
            Output.Json(Views.Task(finished));
        }

        return TaskWaitCommand.ExitCodeOf(finished);
    }
}

public sealed class TaskBatchSettings : OutputSettings
{
    [CommandArgument(0, "<JOB>")]
    [Description("The job to run")]
    public string Job { get; set; } = "";

    [CommandArgument(1, "<FILE>")]
    [Description("JSON lines, one task per line: {\"payload\":…,\"priority\":…,\"delaySeconds\":…,\"labels\":{…}} ('-' for standard input)")]
    public string File { get; set; } = "";
}

/// <summary><c>stevedore task batch JOB FILE</c>: queues up to 1000 tasks at once, all or none; prints their ids.</summary>
public sealed class TaskBatchCommand : ClientCommand<TaskBatchSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, TaskBatchSettings s, CancellationToken ct)
    {
        var lines = s.File == Commands.StandardInput ? await ReadLinesAsync(Console.In) : await ReadFileAsync(s.File);
        var inputs = lines.Select((line, i) => (line, i)).Where(l => l.line.Trim().Length > 0).Select(l => Parse(l.line, l.i + 1)).ToList();
        var ids = await client.QueueBatchAsync(s.Job, inputs, ct);
        if (s.Json)
        {
            Output.Json(new { ids });
        }
        else
        {
            foreach (var id in ids)
            {
                Console.Out.WriteLine(id);
            }
        }

        return ExitCodes.Ok;
    }

    private static async Task<string[]> ReadFileAsync(string file)
    {
        try
        {
            return await File.ReadAllLinesAsync(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"'{file}' cannot be read: {ex.Message}");
        }
    }

    private static async Task<string[]> ReadLinesAsync(TextReader reader) =>
        (await reader.ReadToEndAsync()).Split('\n');

    private static TaskInput Parse(string line, int number)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var input = new TaskInput();
            foreach (var p in root.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "payload":
                        input.Payload = ByteString.CopyFromUtf8(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText());
                        break;
                    case "priority": input.Priority = p.Value.GetInt64(); break;
                    case "delaySeconds": input.DelaySeconds = p.Value.GetInt64(); break;
                    case "timeoutSeconds": input.TimeoutSeconds = p.Value.GetInt64(); break;
                    case "idempotencyKey": input.IdempotencyKey = p.Value.GetString()!; break;
                    case "labels":
                        foreach (var label in p.Value.EnumerateObject())
                        {
                            input.Labels[label.Name] = label.Value.GetString()!;
                        }

                        break;
                    default: throw new UsageException($"line {number}: '{p.Name}' is not a task field (payload, priority, delaySeconds, timeoutSeconds, idempotencyKey, labels)");
                }
            }

            return input;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new UsageException($"line {number} is not a task object: {ex.Message}");
        }
    }
}

/// <summary><c>stevedore task get|cancel|retry ID</c>: prints the task (for retry, the new one).</summary>
public sealed class TaskShowCommand : ClientCommand<TaskIdSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, TaskIdSettings s, CancellationToken ct)
    {
        var task = context.Name switch
        {
            "cancel" => await client.CancelAsync(s.Id, ct),
            "retry" => await client.RetryAsync(s.Id, ct),
            _ => await client.GetTaskAsync(s.Id, ct),
        };
        if (s.Json)
        {
            Output.Json(Views.Task(task));
        }
        else
        {
            Output.Table(Output.Task(task));
        }

        return ExitCodes.Ok;
    }
}

public sealed class TaskListSettings : OutputSettings
{
    [CommandOption("-j|--job <JOB>")]
    [Description("Only this job's tasks")]
    public string? Job { get; set; }

    [CommandOption("-s|--status <STATUS>")]
    [Description("Only tasks in this status: queued, running, succeeded, failed, timed_out, cancelled")]
    public string? Status { get; set; }

    [CommandOption("-l|--label <KEY:VALUE>")]
    [Description("Only tasks with this label")]
    public string? Label { get; set; }

    [CommandOption("--limit <N>")]
    [Description("At most this many, 1 to 1000 (default 50)")]
    public int? Limit { get; set; }

    [CommandOption("--cursor <CURSOR>")]
    [Description("The next page: the cursor the previous page printed")]
    public string? Cursor { get; set; }
}

/// <summary><c>stevedore task list [filters]</c>: newest first.</summary>
public sealed class TaskListCommand : ClientCommand<TaskListSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, TaskListSettings s, CancellationToken ct)
    {
        var request = new ListTasksRequest { Job = s.Job ?? "", Label = s.Label ?? "", Limit = s.Limit ?? 0, Cursor = s.Cursor ?? "" };
        if (s.Status is { } status)
        {
            request.Status = Views.ParseStatus(status)
                ?? throw new UsageException($"--status '{status}' is not a status: use queued, running, succeeded, failed, timed_out or cancelled");
        }

        var page = await client.ListTasksAsync(request, ct);
        if (s.Json)
        {
            Output.Json(new { items = page.Items.Select(t => Views.Task(t)), nextCursor = page.NextCursor.Length == 0 ? null : page.NextCursor });
            return ExitCodes.Ok;
        }

        Output.Table(Output.Tasks(page.Items));
        if (page.NextCursor.Length > 0)
        {
            Console.Error.WriteLine($"more: --cursor {page.NextCursor}");
        }

        return ExitCodes.Ok;
    }
}
