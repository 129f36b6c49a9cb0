using Grpc.Core;
using Spectre.Console.Cli;
using Stevedore.Client;

namespace Stevedore.Cli;

/// <summary>The command tree, its help and examples, and how failures become one line and an exit code.</summary>
public static class Commands
{
    public static void Configure(IConfigurator config)
    {
        config.SetApplicationName("stevedore");
        config.UseStrictParsing();
        config.CancellationExitCode(ExitCodes.Cancelled);
        config.SetExceptionHandler((ex, _) => Fail(ex));
        config.AddExample("job", "put", "hello", "--image", "busybox:1.36", "--", "echo", "hi");
        config.AddExample("task", "queue", "hello", "--payload", "world", "--wait");
        config.AddExample("task", "list", "--job", "hello", "--status", "failed", "-o", "json");
        config.AddExample("schedule", "create", "hello", "--cron", "0 9 * * 1-5", "--tz", "Europe/Berlin", "--payload", "good morning");
        config.AddExample("webhook", "create", "hello");
        config.AddExample("event", "publish", "orders.created", "--payload", "{\"order\":42}");

        config.AddBranch("job", job =>
        {
            job.SetDescription("Jobs: a Docker image plus settings.");
            job.AddCommand<JobPutCommand>("put")
                .WithDescription("Create or update a job. Arguments after -- are its command.")
                .WithExample("job", "put", "hello", "--image", "busybox:1.36", "--timeout", "30s", "--", "echo", "hi")
                .WithExample("job", "put", "invoice", "--image", "busybox:1.36", "--subscribe", "orders.created", "--", "cat")
                .WithExample("job", "put", "resize", "--image", "registry:5000/resize@sha256:0123456789abcdef0123456789abcdef", "--memory", "512", "--retries", "3", "--retry-delay", "10s", "-e", "MODE=fast")
                .WithExample("job", "put", "web", "--image", "busybox:1.36", "--max-queued", "100", "--cap-add", "NET_BIND_SERVICE", "--user", "1000:1000", "--read-only", "--retention-days", "7");
            job.AddCommand<JobListCommand>("list")
                .WithDescription("List jobs.")
                .WithExample("job", "list")
                .WithExample("job", "list", "-o", "json");
            job.AddCommand<JobShowCommand>("get")
                .WithDescription("Show a job.")
                .WithExample("job", "get", "hello", "-o", "json");
            job.AddCommand<JobDeleteCommand>("delete")
                .WithDescription("Delete a job (its tasks stay readable).")
                .WithExample("job", "delete", "hello");
            job.AddCommand<JobShowCommand>("pause")
                .WithDescription("Pause a job: its tasks queue but none starts.")
                .WithExample("job", "pause", "hello");
            job.AddCommand<JobShowCommand>("resume")
                .WithDescription("Resume a paused job.")
                .WithExample("job", "resume", "hello");
            job.AddCommand<JobStatsCommand>("stats")
                .WithDescription("Counts of a job's tasks per status, running now and queued now.")
                .WithExample("job", "stats", "hello");
        });

        config.AddBranch("task", task =>
        {
            task.SetDescription("Tasks: runs of a job with a payload.\n" + ExitCodes.Help);
            task.AddCommand<TaskQueueCommand>("queue")
                .WithDescription("Queue a task and print its id; with --wait, stream its log and exit with the container's exit code.")
                .WithExample("task", "queue", "hello", "--payload", "world")
                .WithExample("task", "queue", "hello", "--payload-file", "-", "--wait")
                .WithExample("task", "queue", "hello", "--priority", "2", "--delay", "10s", "--label", "customer=acme");
            task.AddCommand<TaskBatchCommand>("batch")
                .WithDescription("Queue up to 1000 tasks from JSON lines, all or none; print their ids in order.")
                .WithExample("task", "batch", "hello", "tasks.jsonl");
            task.AddCommand<TaskShowCommand>("get")
                .WithDescription("Show a task with its attempts.")
                .WithExample("task", "get", "0190b8a4c2f3000012ab34cd56ef7890", "-o", "json");
            task.AddCommand<TaskListCommand>("list")
                .WithDescription("List tasks, newest first.")
                .WithExample("task", "list", "--job", "hello", "--status", "failed")
                .WithExample("task", "list", "--label", "customer:acme", "--limit", "10", "-o", "json");
            task.AddCommand<TaskLogCommand>("logs")
                .WithDescription("Print a task's log (stdout and stderr in the order written).")
                .WithExample("task", "logs", "0190b8a4c2f3000012ab34cd56ef7890", "--follow");
            task.AddCommand<TaskResultCommand>("result")
                .WithDescription("Print what the task wrote to its result file.")
                .WithExample("task", "result", "0190b8a4c2f3000012ab34cd56ef7890");
            task.AddCommand<TaskWaitCommand>("wait")
                .WithDescription("Wait until a task has finished; exit with its container's exit code.")
                .WithExample("task", "wait", "0190b8a4c2f3000012ab34cd56ef7890");
            task.AddCommand<TaskShowCommand>("cancel")
                .WithDescription("Cancel a queued or running task.")
                .WithExample("task", "cancel", "0190b8a4c2f3000012ab34cd56ef7890");
            task.AddCommand<TaskShowCommand>("retry")
                .WithDescription("Run a finished task again as a new task with the same payload.")
                .WithExample("task", "retry", "0190b8a4c2f3000012ab34cd56ef7890");
        });

        config.AddBranch("schedule", schedule =>
        {
            schedule.SetDescription("Schedules: tasks of a job made by a clock, by cron in a time zone or every N seconds.\n" + ExitCodes.Help);
            schedule.AddCommand<ScheduleCreateCommand>("create")
                .WithDescription("Create a schedule of a job; each occurrence makes one task, labelled schedule=<id>.")
                .WithExample("schedule", "create", "hello", "--cron", "0 9 * * 1-5", "--tz", "Europe/Berlin", "--payload", "good morning")
                .WithExample("schedule", "create", "hello", "--every", "30s", "--max-runs", "10", "--overlap", "allow")
                .WithExample("schedule", "create", "report", "--cron", "0 0 3 * * *", "--start-at", "2026-12-01T00:00:00Z", "--label", "team=ops", "-o", "json");
            schedule.AddCommand<ScheduleListCommand>("list")
                .WithDescription("List a job's schedules, or every job's.")
                .WithExample("schedule", "list", "--job", "hello")
                .WithExample("schedule", "list", "-o", "json");
            schedule.AddCommand<ScheduleShowCommand>("get")
                .WithDescription("Show a schedule: its state, next occurrence and what it has made.")
                .WithExample("schedule", "get", "0190b8a4c2f3000012ab34cd56ef7890", "-o", "json");
            schedule.AddCommand<ScheduleDeleteCommand>("delete")
                .WithDescription("Delete a schedule (the tasks it made stay).")
                .WithExample("schedule", "delete", "0190b8a4c2f3000012ab34cd56ef7890");
            schedule.AddCommand<ScheduleShowCommand>("pause")
                .WithDescription("Pause a schedule: occurrences while paused never fire.")
                .WithExample("schedule", "pause", "0190b8a4c2f3000012ab34cd56ef7890");
            schedule.AddCommand<ScheduleShowCommand>("resume")
                .WithDescription("Resume a paused schedule from its next occurrence.")
                .WithExample("schedule", "resume", "0190b8a4c2f3000012ab34cd56ef7890");
        });

        config.AddBranch("webhook", webhook =>
        {
            webhook.SetDescription("Webhooks: URLs other services call over HTTP to make a task of a job.\n" + ExitCodes.Help);
            webhook.AddCommand<WebhookCreateCommand>("create")
                .WithDescription("Create a webhook; prints its URL and its secret, which is shown only this once.")
                .WithExample("webhook", "create", "hello")
                .WithExample("webhook", "create", "deploy", "--header", "X-GitHub-Event", "-o", "json");
            webhook.AddCommand<WebhookListCommand>("list")
                .WithDescription("List a job's webhooks (never their secrets).")
                .WithExample("webhook", "list", "hello");
            webhook.AddCommand<WebhookDeleteCommand>("delete")
                .WithDescription("Delete a webhook of a job.")
                .WithExample("webhook", "delete", "hello", "0190b8a4c2f3000012ab34cd56ef7890");
        });

        config.AddBranch("event", events =>
        {
            events.SetDescription("Events: one task for every job subscribed to the topic (job put --subscribe TOPIC).\n" + ExitCodes.Help);
            events.AddCommand<EventPublishCommand>("publish")
                .WithDescription("Publish an event; prints the id of each task it made, one per line.")
                .WithExample("event", "publish", "orders.created", "--payload", "{\"order\":42}")
                .WithExample("event", "publish", "orders.created", "--payload-file", "order.json", "--idempotency-key", "order-42")
                .WithExample("event", "publish", "orders.created", "--payload-file", "-", "-o", "json");
        });
    }

    /// <summary>Stands for a file argument of '-' (standard input), which the parser would take for an option.</summary>
    public const string StandardInput = "\u0000stdin";

    /// <summary>Replaces the argument '-' (before any '--') with <see cref="StandardInput"/>.</summary>
    public static string[] MarkStandardInput(string[] args)
    {
        var end = Array.IndexOf(args, "--");
        return args.Select((a, i) => a == "-" && (end < 0 || i < end) ? StandardInput : a).ToArray();
    }

    /// <summary>One readable line on standard error, and the exit code scripts can rely on (<see cref="ExitCodes"/>).</summary>
    public static int Fail(Exception exception)
    {
        var (code, message) = exception switch
        {
            UsageException or CommandParseException or CommandRuntimeException or CommandConfigurationException =>
                (ExitCodes.Usage, $"{OneLine(exception.Message)} (see stevedore --help)"),
            StevedoreValidationException v => (ExitCodes.Refused, FieldMessage(v)),
            StevedoreNotFoundException => (ExitCodes.NotFound, exception.Message),
            StevedoreConflictException or StevedoreTooLargeException => (ExitCodes.Refused, exception.Message),
            StevedoreUnauthorizedException => (ExitCodes.Unauthorized, $"{exception.Message} (pass --token or set STEVEDORE_TOKEN)"),
            StevedoreUnavailableException u when u.InnerException is RpcException { Status.DebugException: not null } =>
                (ExitCodes.Unavailable, $"cannot reach the Stevedore server ({OneLine(u.Message)}); is it running? (--server or STEVEDORE_SERVER)"),
            StevedoreUnavailableException => (ExitCodes.Unavailable, exception.Message),
            OperationCanceledException => (ExitCodes.Cancelled, "interrupted"),
            StevedoreException => (ExitCodes.Failed, exception.Message),
            IOException => (ExitCodes.Failed, exception.Message),
            _ => (ExitCodes.Failed, $"{exception.GetType().Name}: {exception.Message}"),
        };
        Console.Error.WriteLine($"stevedore: {OneLine(message)}");
        return code;
    }

    private static string FieldMessage(StevedoreValidationException v) =>
        v.Errors.Count == 0 ? v.Message : string.Join("; ", v.Errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"));

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()));
}
