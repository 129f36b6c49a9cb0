using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Xunit.Abstractions;

namespace Stevedore.IntegrationTests.Security;

/// <summary>
/// Seeded random malformed requests against every gRPC method (<see cref="GrpcFuzzer"/>): no answer is a server fault
/// (Unknown, Internal, DataLoss, Unavailable: what an unhandled exception or a crash gives), no call hangs, the web
/// stack and the gRPC handlers log no error, and the host stays healthy. Each run uses the fixed seeds and one new
/// random seed, printed so that a failure can be replayed with STEVEDORE_FUZZ_SEED=N.
/// </summary>
public abstract class GrpcFuzzTests(FuzzServer server, ITestOutputHelper output)
{
    private static readonly int[] s_fixedSeeds = [11, 12];

    private static readonly Marshaller<byte[]> s_bytes = Marshallers.Create(b => b, b => b);

    /// <summary>What a handler that threw, or a host that fell over, answers.</summary>
    private static readonly StatusCode[] s_faults = [StatusCode.Unknown, StatusCode.Internal, StatusCode.DataLoss, StatusCode.Unavailable, StatusCode.Unimplemented];

    /// <summary>How long a call that may rightly wait (a stream, a run's wait) is given before the client ends it.</summary>
    private static readonly TimeSpan s_patience = TimeSpan.FromMilliseconds(300);

    protected abstract int RequestsPerSeed { get; }

    [Fact]
    public async Task MalformedGrpcRequests_GetNoServerFault_AndTheHostStaysHealthy()
    {
        int[] seeds = Environment.GetEnvironmentVariable("STEVEDORE_FUZZ_SEED") is { } replay
            ? [int.Parse(replay, System.Globalization.CultureInfo.InvariantCulture)]
            : [.. s_fixedSeeds, Random.Shared.Next()];

        // Things that exist, for requests to name: jobs (one paused, with a task queued), a schedule, a webhook, a topic.
        string[] jobs = ["gz-a", "gz-b", "gz-paused"];
        foreach (var job in jobs)
        {
            await server.PutJobAsync(job, new { image = "127.0.0.1:1/none:latest", subscriptions = job == "gz-a" ? new[] { "gz.topic" } : [] });
        }

        await server.Http.PostAsync("/v1/jobs/gz-paused/pause", null);
        var task = await server.EnqueueAsync("gz-paused");
        var schedule = await server.Http.PostAsJsonAsync("/v1/jobs/gz-paused/schedules", new { everySeconds = 3600 });
        var hook = await server.Http.PostAsync("/v1/jobs/gz-a/webhooks", null);
        Assert.Equal(HttpStatusCode.Created, schedule.StatusCode);
        Assert.Equal(HttpStatusCode.Created, hook.StatusCode);
        string[] names =
        [
            .. jobs, "gz.topic", task,
            (await schedule.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!,
            (await hook.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!,
        ];

        using var channel = server.NewChannel();
        var invoker = channel.CreateCallInvoker();
        var failures = new List<string>();
        var answers = new SortedDictionary<StatusCode, int>();
        var clock = Stopwatch.StartNew();
        foreach (var seed in seeds)
        {
            output.WriteLine($"gRPC fuzz seed {seed} (replay with STEVEDORE_FUZZ_SEED={seed})");
            Console.WriteLine($"gRPC fuzz seed {seed} (replay with STEVEDORE_FUZZ_SEED={seed})");
            var fuzzer = new GrpcFuzzer(seed, names);
            for (var i = 0; i < RequestsPerSeed; i++)
            {
                var (method, body, summary) = fuzzer.Next();
                var patient = method.IsServerStreaming || method.Name == "Run";
                var (code, detail) = await CallAsync(invoker, method, body, patient);
                answers[code] = answers.GetValueOrDefault(code) + 1;
                if (s_faults.Contains(code) || (!patient && code is StatusCode.DeadlineExceeded or StatusCode.Cancelled))
                {
                    failures.Add($"seed {seed} request {i} ({body.Length} bytes): {summary}\n  → {code}: {detail}");
                }
            }

            var health = await server.Http.GetAsync("/healthz");
            if (health.StatusCode != HttpStatusCode.OK)
            {
                failures.Add($"seed {seed}: /healthz answered {(int)health.StatusCode} {await health.Content.ReadAsStringAsync()}");
            }
        }

        output.WriteLine($"{seeds.Length * RequestsPerSeed} calls in {clock.Elapsed.TotalSeconds:0.0} s; answers: {string.Join(", ", answers.Select(a => $"{a.Key}×{a.Value}"))}");
        Assert.True(failures.Count == 0, $"{failures.Count} failures (seeds {string.Join(", ", seeds)}):\n{string.Join('\n', failures.Take(25))}\n" +
            $"the host logged:\n{string.Join('\n', server.Errors.Entries.Take(10))}");
        Assert.True(server.Errors.Entries.IsEmpty, $"the host logged errors (seeds {string.Join(", ", seeds)}):\n{string.Join('\n', server.Errors.Entries.Take(25))}");
        // The fuzzer reached past validation too: some calls were answered OK, some refused as invalid or missing.
        Assert.Contains(StatusCode.OK, answers.Keys);
        Assert.Contains(StatusCode.InvalidArgument, answers.Keys);
        Assert.Contains(StatusCode.NotFound, answers.Keys);
    }

    /// <summary>One call with the raw request bytes; its status (OK when it answered, or its stream ended, normally).</summary>
    private static async Task<(StatusCode Code, string Detail)> CallAsync(CallInvoker invoker, Google.Protobuf.Reflection.MethodDescriptor method, byte[] body, bool patient)
    {
        var type = method.IsServerStreaming ? MethodType.ServerStreaming : MethodType.Unary;
        var call = new Method<byte[], byte[]>(type, method.Service.FullName, method.Name, s_bytes, s_bytes);
        var options = new CallOptions(deadline: DateTime.UtcNow + (patient ? s_patience : TimeSpan.FromSeconds(30)));
        try
        {
            if (method.IsServerStreaming)
            {
                using var stream = invoker.AsyncServerStreamingCall(call, null, options, body);
                while (await stream.ResponseStream.MoveNext(CancellationToken.None))
                {
                }
            }
            else
            {
                await invoker.AsyncUnaryCall(call, null, options, body);
            }

            return (StatusCode.OK, "");
        }
        catch (RpcException ex)
        {
            return (ex.StatusCode, $"{ex.Status.Detail} {ex.Status.DebugException?.Message}");
        }
    }
}

public sealed class MemoryGrpcFuzzTests(FuzzServer server, ITestOutputHelper output) : GrpcFuzzTests(server, output), IClassFixture<FuzzServer>
{
    protected override int RequestsPerSeed => 400;
}

public sealed class PostgresGrpcFuzzTests(PostgresFuzzServer server, ITestOutputHelper output) : GrpcFuzzTests(server, output), IClassFixture<PostgresFuzzServer>
{
    protected override int RequestsPerSeed => 250;
}
