using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;
using Stevedore.Api.V1;

namespace Stevedore.Cli;

/// <summary>Tables for people (colour only on a terminal), JSON for scripts.</summary>
public static class Output
{
    public static void Json(object value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, value.GetType(), Views.Json));

    /// <summary>
    /// A table or details. Into a pipe or file, rows are never wrapped (a terminal's 80 columns would split ids across
    /// lines for grep and awk): the width is that of the longest row.
    /// </summary>
    public static void Table(IRenderable table)
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = PipeWidth;
        }

        AnsiConsole.Write(table);
    }

    private const int PipeWidth = 4096;

    /// <summary>The view as JSON with <c>-o json</c>, else the table made of it.</summary>
    public static void Show(OutputSettings settings, object view, Func<IRenderable> table)
    {
        if (settings.Json)
        {
            Json(view);
        }
        else
        {
            Table(table());
        }
    }

    public static Table Jobs(IEnumerable<Job> jobs)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("NAME", "IMAGE", "VERSION", "PAUSED", "TIMEOUT", "MEMORY", "CPUS", "MAX", "RETRIES", "UPDATED");
        foreach (var j in jobs)
        {
            table.AddRow(Text(j.Name), Text(j.Spec.Image), Text(j.Version.ToString(Inv)), Text(j.Paused ? "yes" : "no"),
                Text($"{j.Spec.TimeoutSeconds}s"), Text($"{j.Spec.MemoryMb} MiB"), Text(j.Spec.Cpus.ToString(Inv)),
                Text(j.Spec.MaxConcurrency == 0 ? "-" : j.Spec.MaxConcurrency.ToString(Inv)), Text(j.Spec.Retries.ToString(Inv)),
                Text(j.UpdatedAt.ToDateTimeOffset().ToString("u", Inv)));
        }

        return table;
    }

    public static Grid Job(Job j)
    {
        var grid = Details();
        Row(grid, "name", j.Name);
        Row(grid, "image", j.Spec.Image);
        Row(grid, "command", j.Spec.Command.Count == 0 ? "(the image's)" : string.Join(' ', j.Spec.Command.Select(Quote)));
        Row(grid, "env", string.Join(' ', j.Spec.Env.Select(kv => $"{kv.Key}={kv.Value}")));
        Row(grid, "version", j.Version.ToString(Inv));
        Row(grid, "paused", j.Paused ? "yes" : "no");
        Row(grid, "timeout", $"{j.Spec.TimeoutSeconds}s");
        Row(grid, "memory", $"{j.Spec.MemoryMb} MiB");
        Row(grid, "cpus", j.Spec.Cpus.ToString(Inv));
        Row(grid, "maxConcurrency", j.Spec.MaxConcurrency == 0 ? "unlimited" : j.Spec.MaxConcurrency.ToString(Inv));
        Row(grid, "retries", $"{j.Spec.Retries} (delay {j.Spec.RetryDelaySeconds}s × {j.Spec.RetryBackoff.ToString(Inv)})");
        Row(grid, "network", j.Spec.Network);
        Row(grid, "priority", j.Spec.Priority.ToString(Inv));
        if (j.Spec.Subscriptions.Count > 0)
        {
            Row(grid, "subscriptions", string.Join(' ', j.Spec.Subscriptions));
        }

        Row(grid, "maxQueued", j.Spec.MaxQueued == 0 ? "unlimited" : j.Spec.MaxQueued.ToString(Inv));
        Row(grid, "capabilities", j.Spec.Capabilities.Count == 0 ? "(none)" : string.Join(' ', j.Spec.Capabilities));
        Row(grid, "user", j.Spec.HasUser ? j.Spec.User : "(the image's)");
        Row(grid, "readOnlyRootFilesystem", j.Spec.ReadOnlyRootFilesystem ? "yes" : "no");
        Row(grid, "retentionDays", j.Spec.HasRetentionDays ? j.Spec.RetentionDays.ToString(Inv) : "(the server's)");
        Row(grid, "hot", j.Spec.Hot is { } hot ? $"{hot.MaxPerNode} per node, idle {hot.IdleSeconds}s" : "no");

        Row(grid, "updated", j.UpdatedAt.ToDateTimeOffset().ToString("u", Inv));
        return grid;
    }

    public static Table Tasks(IEnumerable<TaskInfo> tasks)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumns("ID", "JOB", "STATUS", "EXIT", "ATTEMPT", "CREATED", "FINISHED");
        foreach (var t in tasks)
        {
            table.AddRow(Text(t.Id), Text(t.Job), Status(t.Status), Text(t.HasExitCode ? t.ExitCode.ToString(Inv) : "-"),
                Text($"{t.Attempt}/{t.MaxAttempts}"), Text(Time(t.CreatedAt)), Text(Time(t.FinishedAt)));
        }

        return table;
    }

    public static Grid Task(TaskInfo t)
    {
        var grid = Details();
        Row(grid, "id", t.Id);
        Row(grid, "job", $"{t.Job} (version {t.JobVersion})");
        grid.AddRow(new Markup("[bold]status[/]"), Status(t.Status));
        Row(grid, "exitCode", t.HasExitCode ? t.ExitCode.ToString(Inv) : "-");
        if (t.HasError)
        {
            Row(grid, "error", t.Error);
        }

        Row(grid, "attempt", $"{t.Attempt} of {t.MaxAttempts}");
        Row(grid, "priority", t.Priority.ToString(Inv));
        Row(grid, "created", Time(t.CreatedAt));
        Row(grid, "started", Time(t.StartedAt));
        Row(grid, "finished", Time(t.FinishedAt));
        if (t.RunAfter is not null)
        {
            Row(grid, "runAfter", Time(t.RunAfter));
        }

        if (t.Labels.Count > 0)
        {
            Row(grid, "labels", string.Join(' ', t.Labels.Select(kv => $"{kv.Key}={kv.Value}")));
        }

        if (t.HasNode)
        {
            Row(grid, "node", t.Node);
        }

        if (t.HasRetryOf)
        {
            Row(grid, "retryOf", t.RetryOf);
        }

        return grid;
    }

    public static Grid Stats(JobStats s)
    {
        var grid = Details();
        Row(grid, "job", s.Job);
        Row(grid, "runningNow", s.RunningNow.ToString(Inv));
        Row(grid, "queuedNow", s.QueuedNow.ToString(Inv));
        foreach (var (status, count) in s.Counts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Row(grid, status, count.ToString(Inv));
        }

        return grid;
    }

    internal static readonly IFormatProvider Inv = System.Globalization.CultureInfo.InvariantCulture;

    internal static Grid Details() => new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();

    internal static void Row(Grid grid, string name, string value) => grid.AddRow(new Markup($"[bold]{name}[/]"), Text(value));

    internal static Text Text(string value) => new(value);

    private static Markup Status(TaskState state)
    {
        var name = Views.Status(state);
        var colour = state switch
        {
            TaskState.Succeeded => "green",
            TaskState.Failed or TaskState.TimedOut => "red",
            TaskState.Running => "blue",
            TaskState.Cancelled => "grey",
            _ => "yellow",
        };
        return new Markup($"[{colour}]{name}[/]");
    }

    internal static string Time(Google.Protobuf.WellKnownTypes.Timestamp? time) =>
        time is null ? "-" : time.ToDateTimeOffset().ToString("u", Inv);

    private static string Quote(string arg) => arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./=:".Contains(c)) ? arg : $"'{arg.Replace("'", "'\\''")}'";
}
