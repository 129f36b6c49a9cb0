using System.ComponentModel;
using Spectre.Console.Cli;
using Stevedore.Client;

namespace Stevedore.Cli;

// Inside the namespace: the API's messages.
using Stevedore.Api.V1;

public sealed class JobPutSettings : JobNameSettings
{
    [CommandOption("--image <IMAGE>", isRequired: true)]
    [Description("Docker image reference (tag or digest)")]
    public string Image { get; set; } = "";

    [CommandOption("--timeout <DURATION>")]
    [Description("Kill a task still running after this long: 90, 30s, 5m, 1h (default 1h)")]
    public string? Timeout { get; set; }

    [CommandOption("--memory <MIB>")]
    [Description("Memory limit in MiB (default 256)")]
    public long? Memory { get; set; }

    [CommandOption("--cpus <CPUS>")]
    [Description("CPU limit (default 1)")]
    public double? Cpus { get; set; }

    [CommandOption("--retries <N>")]
    [Description("Retries after a failure or timeout, 0 to 20 (default 0)")]
    public long? Retries { get; set; }

    [CommandOption("--retry-delay <DURATION>")]
    [Description("Delay before the first retry (default 10s)")]
    public string? RetryDelay { get; set; }

    [CommandOption("--retry-backoff <FACTOR>")]
    [Description("Multiplier of the delay per further retry (default 2)")]
    public double? RetryBackoff { get; set; }

    [CommandOption("--max-concurrency <N>")]
    [Description("Tasks of this job running at once, cluster-wide (default 0: unlimited)")]
    public long? MaxConcurrency { get; set; }

    [CommandOption("--priority <N>")]
    [Description("Default priority of its tasks, 0 to 2 (2 runs first)")]
    public long? Priority { get; set; }

    [CommandOption("--network <NETWORK>")]
    [Description("bridge (default) or none")]
    public string? Network { get; set; }

    [CommandOption("-e|--env <KEY=VALUE>")]
    [Description("An environment variable; repeat for more")]
    public string[] Env { get; set; } = [];

    [CommandOption("--subscribe <TOPIC>")]
    [Description("An event topic this job takes (stevedore event publish TOPIC makes a task of it); repeat for more")]
    public string[] Subscribe { get; set; } = [];

    [CommandOption("--max-queued <N>")]
    [Description("Most tasks of this job waiting at once; a queue beyond it is refused (default 0: unlimited)")]
    public long? MaxQueued { get; set; }

    [CommandOption("--cap-add <NAME>")]
    [Description("A Linux capability the container keeps (CHOWN, KILL, NET_BIND_SERVICE, SETUID, …); all others are dropped; repeat for more")]
    public string[] CapAdd { get; set; } = [];

    [CommandOption("--user <USER>")]
    [Description("Run as this user: uid (1000), uid:gid (1000:1000) or a name the image knows (default: the image's)")]
    public string? User { get; set; }

    [CommandOption("--read-only")]
    [Description("Make the container's root filesystem read-only (/tmp stays writable)")]
    public bool ReadOnly { get; set; }

    [CommandOption("--retention-days <DAYS>")]
    [Description("Days a finished task of this job is kept, 1 to 3650 (default: the server's setting)")]
    public long? RetentionDays { get; set; }

    [CommandOption("--hot-max-per-node <N>")]
    [Description("Make the job hot: at most N hot containers per worker node, each serving many tasks one at a time through the hot protocol (1 to 64)")]
    public long? HotMaxPerNode { get; set; }

    [CommandOption("--hot-idle <DURATION>")]
    [Description("Make the job hot: retire a hot container idle this long, e.g. 60s, 5m (default 60s)")]
    public string? HotIdle { get; set; }
}

/// <summary><c>stevedore job put NAME --image IMG [options] [-- CMD ARG...]</c></summary>
public sealed class JobPutCommand : ClientCommand<JobPutSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, JobPutSettings s, CancellationToken ct)
    {
        var spec = new JobSpec { Image = s.Image };
        spec.Command.AddRange(context.Remaining.Raw);
        spec.Subscriptions.AddRange(s.Subscribe);
        spec.Capabilities.AddRange(s.CapAdd);
        foreach (var (key, value) in Check(Parsing.Pairs(s.Env, "--env", '=', out var envError), envError))
        {
            spec.Env[key] = value;
        }

        if (s.Timeout is { } timeout)
        {
            spec.TimeoutSeconds = Check(Parsing.Seconds(timeout, "--timeout", out var e), e);
        }

        if (s.RetryDelay is { } delay)
        {
            spec.RetryDelaySeconds = Check(Parsing.Seconds(delay, "--retry-delay", out var e), e);
        }

        if (s.Memory is { } memory)
        {
            spec.MemoryMb = memory;
        }

        if (s.Cpus is { } cpus)
        {
            spec.Cpus = cpus;
        }

        if (s.Retries is { } retries)
        {
            spec.Retries = retries;
        }

        if (s.RetryBackoff is { } backoff)
        {
            spec.RetryBackoff = backoff;
        }

        if (s.MaxConcurrency is { } max)
        {
            spec.MaxConcurrency = max;
        }

        if (s.Priority is { } priority)
        {
            spec.Priority = priority;
        }

        if (s.Network is { } network)
        {
            spec.Network = network;
        }

        if (s.MaxQueued is { } maxQueued)
        {
            spec.MaxQueued = maxQueued;
        }

        if (s.User is { } user)
        {
            spec.User = user;
        }

        if (s.ReadOnly)
        {
            spec.ReadOnlyRootFilesystem = true;
        }

        if (s.RetentionDays is { } retentionDays)
        {
            spec.RetentionDays = retentionDays;
        }

        if (s.HotMaxPerNode is not null || s.HotIdle is not null)
        {
            spec.Hot = new HotSpec();
            if (s.HotMaxPerNode is { } perNode)
            {
                spec.Hot.MaxPerNode = perNode;
            }

            if (s.HotIdle is { } idle)
            {
                spec.Hot.IdleSeconds = Check(Parsing.Seconds(idle, "--hot-idle", out var e), e);
            }
        }

        var put = await client.PutJobAsync(s.Name, spec, ct);
        if (s.Json)
        {
            Output.Json(Views.Job(put.Job));
        }
        else
        {
            Console.Error.WriteLine(put.Created ? $"created job {put.Job.Name}" : $"updated job {put.Job.Name} (version {put.Job.Version})");
            Output.Table(Output.Job(put.Job));
        }

        return ExitCodes.Ok;
    }
}

/// <summary><c>stevedore job list</c></summary>
public sealed class JobListCommand : ClientCommand<OutputSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, OutputSettings s, CancellationToken ct)
    {
        var jobs = await client.ListJobsAsync(ct);
        if (s.Json)
        {
            Output.Json(new { items = jobs.Select(Views.Job) });
        }
        else
        {
            Output.Table(Output.Jobs(jobs));
        }

        return ExitCodes.Ok;
    }
}

/// <summary><c>stevedore job get|pause|resume NAME</c>: prints the job.</summary>
public sealed class JobShowCommand : ClientCommand<JobNameSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, JobNameSettings s, CancellationToken ct)
    {
        var job = context.Name switch
        {
            "pause" => await client.PauseJobAsync(s.Name, ct),
            "resume" => await client.ResumeJobAsync(s.Name, ct),
            _ => await client.GetJobAsync(s.Name, ct),
        };
        if (s.Json)
        {
            Output.Json(Views.Job(job));
        }
        else
        {
            Output.Table(Output.Job(job));
        }

        return ExitCodes.Ok;
    }
}

/// <summary><c>stevedore job delete NAME</c></summary>
public sealed class JobDeleteCommand : ClientCommand<JobNameSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, JobNameSettings s, CancellationToken ct)
    {
        await client.DeleteJobAsync(s.Name, ct);
        Console.Error.WriteLine($"deleted job {s.Name}");
        return ExitCodes.Ok;
    }
}

/// <summary><c>stevedore job stats NAME</c></summary>
public sealed class JobStatsCommand : ClientCommand<JobNameSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, JobNameSettings s, CancellationToken ct)
    {
        var stats = await client.GetJobStatsAsync(s.Name, ct);
        if (s.Json)
        {
            Output.Json(Views.Stats(stats));
        }
        else
        {
            Output.Table(Output.Stats(stats));
        }

        return ExitCodes.Ok;
    }
}
