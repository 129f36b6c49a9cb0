using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Stevedore.IntegrationTests.Security;

/// <summary>A host that records every error its web stack and gRPC handlers log (an unhandled exception is one), running one task at a time.</summary>
public class FuzzServer : StevedoreServer
{
    public ErrorLog Errors { get; } = new();

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Worker:Slots"] = "1",
        ["Stevedore:Logs:QueuedFollowTimeout"] = "00:00:02",
    };

    protected override void Configure(WebApplicationBuilder builder) => builder.Logging.AddProvider(Errors);

    public sealed class ErrorLog : ILoggerProvider
    {
        public ConcurrentQueue<string> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ErrorLog owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) =>
                logLevel >= LogLevel.Error && (category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || category.StartsWith("Grpc", StringComparison.Ordinal));

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    owner.Entries.Enqueue($"{category}: {formatter(state, exception)} {exception?.GetType().Name}: {exception?.Message}");
                }
            }
        }
    }
}

/// <summary>The same on PostgreSQL, where text reaches the database (which refuses, say, a NUL in a string).</summary>
public sealed class PostgresFuzzServer : FuzzServer
{
    private readonly Storage.TestDatabase _db = new();

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Stevedore:Storage"] = "Postgres",
        ["ConnectionStrings:Postgres"] = _db.ConnectionString,
    };

    protected override Task PrepareAsync() => _db.InitializeAsync();

    protected override Task CleanupAsync() => _db.DisposeAsync();
}

/// <summary>
/// Seeded random malformed requests against every endpoint: no answer is a 5xx (and the web stack logs no unhandled
/// error), the host stays healthy, and a task queued before the storm still runs after it. Each run uses the fixed
/// seeds and one new random seed, printed so that a failure can be replayed with STEVEDORE_FUZZ_SEED=N.
/// </summary>
public abstract partial class FuzzTests(FuzzServer server, ITestOutputHelper output)
{
    private static readonly int[] s_fixedSeeds = [1, 2, 3, 4, 5, 6];

    /// <summary>Requests per seed: the fixed seeds and one random seed each run this many.</summary>
    protected abstract int RequestsPerSeed { get; }

    [GeneratedRegex(@"Location: /v1/tasks/([0-9a-f]{32})", RegexOptions.IgnoreCase)]
    private static partial Regex TaskLocation();

    [Fact]
    public async Task MalformedRequests_GetNo5xx_TheHostStaysHealthy_AndAQueuedTaskStillRuns()
    {
        int[] seeds = Environment.GetEnvironmentVariable("STEVEDORE_FUZZ_SEED") is { } replay
            ? [int.Parse(replay, System.Globalization.CultureInfo.InvariantCulture)]
            : [.. s_fixedSeeds, Random.Shared.Next()];

        // A task queued before the storm, in a job the fuzzer does not know; it must still run afterwards.
        var sentinel = Names.Unique("sentinel");
        await server.PutJobAsync(sentinel, new { image = StevedoreServer.Image, command = new[] { "echo", "survived" }, priority = 2 });
        await server.Http.PostAsync($"/v1/jobs/{sentinel}/pause", null);
        var sentinelTask = await server.EnqueueAsync(sentinel);

        string[] jobs = ["fz-a", "fz-b", "fz-paused", "fz-capped"];
        const string topic = "fz.topic";
        foreach (var job in jobs)
        {
            await server.PutJobAsync(job, new { image = "127.0.0.1:1/none:latest", maxQueued = job == "fz-capped" ? 3 : 0, subscriptions = job is "fz-a" or "fz-capped" ? new[] { topic } : [] });
        }

        await server.Http.PostAsync("/v1/jobs/fz-paused/pause", null);
        var triggers = await TriggersAsync(topic);
        var ids = new List<string>();
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        var host = $"127.0.0.1:{server.Http.BaseAddress!.Port}";
        var count = 0;
        var statuses = new SortedDictionary<int, int>();
        foreach (var seed in seeds)
        {
            output.WriteLine($"fuzz seed {seed} (replay with STEVEDORE_FUZZ_SEED={seed})");
            Console.WriteLine($"fuzz seed {seed} (replay with STEVEDORE_FUZZ_SEED={seed})");
            var fuzzer = new RequestFuzzer(seed, host, jobs, triggers, () => ids);
            for (var i = 0; i < RequestsPerSeed; i++, count++)
            {
                var request = fuzzer.Next();
                string verdict;
                try
                {
                    var answer = await RawHttp.SendAsync(server.Http.BaseAddress, request.Bytes, TimeSpan.FromSeconds(30), request.CloseSending);
                    // A client that hangs up mid-body gets no answer (Kestrel drops the connection); that is not a failure.
                    statuses[answer?.Status ?? 0] = statuses.GetValueOrDefault(answer?.Status ?? 0) + 1;
                    if ((answer is not null && (answer.Status < 500 || (answer.Status == 505 && !request.KnownVersion))) || (answer is null && request.CloseSending))
                    {
                        if (answer is not null && TaskLocation().Match(answer.Head) is { Success: true } location)
                        {
                            ids.Add(location.Groups[1].Value);
                        }

                        continue;
                    }

                    verdict = answer?.Head ?? "the server closed without an answer";
                }
                catch (Exception ex) when (ex is TimeoutException or System.Net.Sockets.SocketException)
                {
                    verdict = ex.Message;
                }

                failures.Add($"seed {seed} request {i}: {request.Summary}\n  → {verdict.Split("\r\n")[0]}");
            }

            var health = await server.Http.GetAsync("/healthz");
            if (health.StatusCode != HttpStatusCode.OK)
            {
                failures.Add($"seed {seed}: /healthz answered {(int)health.StatusCode} {await health.Content.ReadAsStringAsync()}");
            }
        }

        output.WriteLine($"{count} requests in {clock.Elapsed.TotalSeconds:0.0} s, {ids.Count} tasks created; answers: " +
            string.Join(", ", statuses.Select(s => $"{(s.Key == 0 ? "none" : s.Key)}×{s.Value}")));
        Assert.True(failures.Count == 0, $"{failures.Count} failures (seeds {string.Join(", ", seeds)}):\n{string.Join('\n', failures.Take(25))}\n" +
            $"the web stack logged:\n{string.Join('\n', server.Errors.Entries.Take(10))}");
        Assert.True(server.Errors.Entries.IsEmpty, $"the web stack logged errors (seeds {string.Join(", ", seeds)}):\n{string.Join('\n', server.Errors.Entries.Take(25))}");

        foreach (var job in jobs)
        {
            await server.Http.PostAsync($"/v1/jobs/{job}/pause", null);
        }

        await server.Http.PostAsync($"/v1/jobs/{sentinel}/resume", null);
        var task = await server.WaitForEndAsync(sentinelTask, seconds: 120);
        Assert.Equal("succeeded", task.GetProperty("status").GetString());
        Assert.Equal("survived\n", await server.Http.GetStringAsync($"/v1/tasks/{sentinelTask}/log"));
    }

    /// <summary>A schedule (hourly, on the paused job) and a webhook (on fz-a) for the requests to reach.</summary>
    private async Task<FuzzTriggers> TriggersAsync(string topic)
    {
        var schedule = await server.Http.PostAsJsonAsync("/v1/jobs/fz-paused/schedules", new { everySeconds = 3600 });
        Assert.Equal(HttpStatusCode.Created, schedule.StatusCode);
        var hook = await server.Http.PostAsync("/v1/jobs/fz-a/webhooks", null);
        Assert.Equal(HttpStatusCode.Created, hook.StatusCode);
        var created = await hook.Content.ReadFromJsonAsync<JsonElement>();
        return new FuzzTriggers(topic, (await schedule.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!,
            created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
    }
}

public sealed class MemoryFuzzTests(FuzzServer server, ITestOutputHelper output) : FuzzTests(server, output), IClassFixture<FuzzServer>
{
    protected override int RequestsPerSeed => 1000;
}

public sealed class PostgresFuzzTests(PostgresFuzzServer server, ITestOutputHelper output) : FuzzTests(server, output), IClassFixture<PostgresFuzzServer>
{
    protected override int RequestsPerSeed => 500;
}
