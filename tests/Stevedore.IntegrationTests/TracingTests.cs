using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Stevedore.IntegrationTests;

/// <summary>A host with tracing on, whose spans a test reads from an in-memory exporter.</summary>
public sealed class TracingServer : StevedoreServer
{
    public ConcurrentQueue<Activity> Spans { get; } = new();

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Tracing:Enabled"] = "true",
        ["Stevedore:Worker:Slots"] = "2",
    };

    protected override void Configure(WebApplicationBuilder builder) =>
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddProcessor(new SimpleActivityExportProcessor(new QueueExporter(Spans))));

    private sealed class QueueExporter(ConcurrentQueue<Activity> spans) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            foreach (var span in batch)
            {
                spans.Enqueue(span);
            }

            return ExportResult.Success;
        }
    }
}

public partial class TracingTests(TracingServer server) : IClassFixture<TracingServer>
{
    [GeneratedRegex("TRACEPARENT=(00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})")]
    private static partial Regex TraceParentLine();

    [Fact]
    public async Task ATask_IsOneTrace_FromTheCallersTraceparentThroughEnqueueQueueRunContainerAndCompletion()
    {
        var job = Names.Unique("traced");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "echo TRACEPARENT=$TRACEPARENT" } });
        var callerTrace = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/jobs/{job}/tasks") { Content = JsonContent.Create(new { payload = "x" }) };
        request.Headers.Add("traceparent", $"00-{callerTrace}-{callerSpan}-01");

        var response = await server.Http.SendAsync(request);
        var id = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString()!;
        Assert.Equal("succeeded", (await server.WaitForEndAsync(id)).GetProperty("status").GetString());

        // Spans are exported as they end; the run ends last, once the outcome is stored.
        var deadline = Stopwatch.StartNew();
        while (!server.Spans.Any(s => s.OperationName == "stevedore.task.run" && Tag(s, "stevedore.task_id") == id))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "no run span was exported in 20 s");
            await Task.Delay(50);
        }

        var ofTask = server.Spans.Where(s => Tag(s, "stevedore.task_id") == id).ToList();
        Assert.All(ofTask, s => Assert.Equal(callerTrace, s.TraceId));
        var trace = server.Spans.Where(s => s.TraceId == callerTrace).ToList();
        var names = trace.Select(s => s.OperationName).ToHashSet();
        Assert.Superset(new HashSet<string> { "stevedore.task.enqueue", "stevedore.task.queued", "stevedore.task.run", "stevedore.task.complete" }, names);
        Assert.True(trace.Any(s => s.Kind == ActivityKind.Server && s.ParentSpanId == callerSpan), // the HTTP request, a child of the caller's span
            string.Join("\n", trace.Select(s => $"{s.Source.Name} {s.OperationName} {s.DisplayName} {s.Kind} {s.SpanId} parent {s.ParentSpanId}")));
        Assert.Contains(trace, s => s.Source.Name == "Microsoft.Orleans.Application" && s.DisplayName == "IQueuePartitionGrain/CompleteAsync"); // grain calls
        var enqueue = trace.Single(s => s.OperationName == "stevedore.task.enqueue");
        var run = trace.Single(s => s.OperationName == "stevedore.task.run");
        var complete = trace.Single(s => s.OperationName == "stevedore.task.complete");
        Assert.True(run.StartTimeUtc >= enqueue.StartTimeUtc && complete.StartTimeUtc >= run.StartTimeUtc);
        Assert.Equal("succeeded", Tag(run, "stevedore.status"));

        // The container saw the run's context: same trace, the run span as its parent.
        var log = await server.Http.GetStringAsync($"/v1/tasks/{id}/log");
        var seen = System.Diagnostics.ActivityContext.Parse(TraceParentLine().Match(log).Groups[1].Value, null);
        Assert.Equal(callerTrace, seen.TraceId);
        Assert.Equal(run.SpanId, seen.SpanId);
    }

    private static string? Tag(Activity span, string key) => span.GetTagItem(key)?.ToString();
}

/// <summary>With tracing off, a caller's traceparent still reaches the container.</summary>
[Collection(ServerCollection.Name)]
public class TraceparentPassThroughTests(StevedoreServer server)
{
    [Fact]
    public async Task TheCallersTraceparent_ReachesTheContainer_InTheSameTrace()
    {
        var job = Names.Unique("traceparent");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "echo \"[$TRACEPARENT]\"" } });
        var trace = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/jobs/{job}/tasks") { Content = JsonContent.Create(new { }) };
        request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
        var id = (await (await server.Http.SendAsync(request)).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString()!;

        await server.WaitForEndAsync(id);

        // Another host in this test process may trace (listeners are process-wide): then the container sees the run
        // span's context instead of the caller's; the trace is the caller's either way.
        Assert.StartsWith($"[00-{trace}-", await server.Http.GetStringAsync($"/v1/tasks/{id}/log"));

        var plain = await server.EnqueueAsync(job);
        await server.WaitForEndAsync(plain);
        var log = await server.Http.GetStringAsync($"/v1/tasks/{plain}/log");
        Assert.True(log == "[]\n" || log.StartsWith("[00-", StringComparison.Ordinal), log);
    }
}
