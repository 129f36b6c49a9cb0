using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Stevedore.Client;

namespace Stevedore.Cli;

// Inside the namespace: the API's messages.
using Stevedore.Api.V1;

public sealed class TaskLogSettings : ServerSettings
{
    [CommandArgument(0, "<ID>")]
    [Description("The task's id")]
    public string Id { get; set; } = "";

    [CommandOption("-f|--follow")]
    [Description("Keep streaming until the task has ended")]
    public bool Follow { get; set; }

    [CommandOption("--stream <STREAM>")]
    [Description("stdout or stderr only (default: both, in the order written)")]
    public string? Stream { get; set; }

    public override ValidationResult Validate() =>
        Stream is null or "stdout" or "stderr" ? base.Validate() : ValidationResult.Error($"--stream '{Stream}' is not a stream: use stdout or stderr");
}

/// <summary><c>stevedore task logs ID [--follow] [--stream stdout|stderr]</c>: the log as the container wrote it.</summary>
public sealed class TaskLogCommand : ClientCommand<TaskLogSettings>
{
    public static async Task CopyLogAsync(StevedoreClient client, string id, bool follow, LogStreamSelector stream, CancellationToken ct)
    {
        await using var stdout = Console.OpenStandardOutput();
        await foreach (var chunk in client.StreamLogAsync(id, follow, stream, ct))
        {
            await stdout.WriteAsync(chunk, ct);
            await stdout.FlushAsync(ct);
        }
    }

    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, TaskLogSettings s, CancellationToken ct)
    {
        var stream = s.Stream switch
        {
            "stdout" => LogStreamSelector.Stdout,
            "stderr" => LogStreamSelector.Stderr,
            _ => LogStreamSelector.All,
        };
        await CopyLogAsync(client, s.Id, s.Follow, stream, ct);
        return ExitCodes.Ok;
    }
}

/// <summary><c>stevedore task result ID</c>: the bytes the task wrote to its result file, as they are.</summary>
public sealed class TaskResultCommand : ClientCommand<TaskIdSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, TaskIdSettings s, CancellationToken ct)
    {
        var result = await client.GetResultAsync(s.Id, ct);
        await using var stdout = Console.OpenStandardOutput();
        await stdout.WriteAsync(result, ct);
        return ExitCodes.Ok;
    }
}

/// <summary><c>stevedore task wait ID</c>: waits until the task has finished; exits with its container's exit code.</summary>
public sealed class TaskWaitCommand : ClientCommand<TaskIdSettings>
{
    public static int ExitCodeOf(TaskInfo task) => task.Status switch
    {
        TaskState.Succeeded => ExitCodes.Ok,
        TaskState.TimedOut => ExitCodes.TimedOut,
        TaskState.Cancelled => ExitCodes.Cancelled,
        _ when task.HasExitCode => task.ExitCode is > 0 and <= 255 ? (int)task.ExitCode : ExitCodes.Failed,
        _ => ExitCodes.NoExitCode,
    };

    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, TaskIdSettings s, CancellationToken ct)
    {
        // A spinner only for a person at a terminal; scripts get nothing but the answer.
        var task = AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected && !Console.IsErrorRedirected
            ? await AnsiConsole.Status().StartAsync($"waiting for task {s.Id}", _ => client.WaitAsync(s.Id, ct))
            : await client.WaitAsync(s.Id, ct);
        if (s.Json)
        {
            Output.Json(Views.Task(task));
        }
        else
        {
            Output.Table(Output.Task(task));
        }

        return ExitCodeOf(task);
    }
}
