using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Stevedore.Telemetry;

/// <summary>
/// Stevedore's own instruments, on the meter <c>Stevedore</c> (served on <c>/metrics</c> beside Orleans' meters).
/// One set per process, shared by every silo in it: counters and histograms count what this process did, gauges show
/// what this process holds (its queue partitions, its worker node). Across a cluster, sum them over instances.
/// </summary>
/// <remarks>
/// Recording costs a few tens of nanoseconds when nothing listens. Tags are bounded: job names, outcomes, node names,
/// store operations — never task ids.
/// </remarks>
public static class StevedoreMetrics
{
    public const string MeterName = "Stevedore";

    private static readonly Meter s_meter = new(MeterName, "1.0");

    private static readonly double[] s_fastBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] s_slowBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 14400, 86400];

    private static readonly Counter<long> s_enqueued = s_meter.CreateCounter<long>(
        "stevedore.tasks.enqueued", "{task}", "Tasks accepted (not counting idempotent repeats).");

    private static readonly Counter<long> s_started = s_meter.CreateCounter<long>(
        "stevedore.tasks.started", "{attempt}", "Attempts started: a task that is retried starts more than once.");

    private static readonly Counter<long> s_finished = s_meter.CreateCounter<long>(
        "stevedore.tasks.finished", "{task}", "Tasks that reached a final status, by outcome.");

    private static readonly Histogram<double> s_dispatchLatency = s_meter.CreateHistogram(
        "stevedore.dispatch.latency", "s", "From the moment a task could run (enqueued, due, or its retry due) to its start.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_fastBuckets });

    private static readonly Histogram<double> s_taskDuration = s_meter.CreateHistogram(
        "stevedore.task.duration", "s", "How long each attempt ran, start to outcome, by outcome.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_slowBuckets });

    private static readonly Histogram<double> s_containerOperation = s_meter.CreateHistogram(
        "stevedore.container.operation.duration", "s", "Container engine calls (create, start, remove, pull).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_fastBuckets });

    private static readonly Counter<long> s_logBytes = s_meter.CreateCounter<long>(
        "stevedore.log.written", "By", "Bytes of task output stored, by stream.");

    private static readonly Histogram<double> s_storeDuration = s_meter.CreateHistogram(
        "stevedore.store.duration", "s", "Calls to Stevedore's stores (task records, content, jobs), by store and operation.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_fastBuckets });

    private static readonly Counter<long> s_leasesExpired = s_meter.CreateCounter<long>(
        "stevedore.leases.expired", "{attempt}", "Running attempts whose lease lapsed (their worker stopped renewing it).");

    private static readonly Counter<long> s_workerLost = s_meter.CreateCounter<long>(
        "stevedore.attempts.worker_lost", "{attempt}", "Attempts lost with their worker (lapsed lease or worker shut down); they run again.");

    private static readonly Counter<long> s_retentionDeleted = s_meter.CreateCounter<long>(
        "stevedore.retention.deleted", "{item}", "Finished tasks and lapsed idempotency keys removed by retention or by hand.");

    private static readonly ConcurrentDictionary<object, IReadOnlyList<QueueDepth>> s_queues = new(ReferenceEqualityComparer.Instance);
    private static readonly ConcurrentDictionary<string, SlotSource> s_slots = new(StringComparer.Ordinal);

    static StevedoreMetrics()
    {
        s_meter.CreateObservableGauge("stevedore.queue.depth", ObserveDepth, "{task}",
            "Tasks queued per job (ready, delayed, or held while paused or at the job's limit), in this process's queue partitions.");
        s_meter.CreateObservableGauge("stevedore.queue.oldest_age", ObserveOldestAge, "s",
            "Per job, how long the longest-waiting task that could run has waited, in this process's queue partitions.");
        s_meter.CreateObservableGauge("stevedore.worker.slots.used", () => ObserveSlots(used: true), "{slot}", "Run slots of this process's worker node in use.");
        s_meter.CreateObservableGauge("stevedore.worker.slots.total", () => ObserveSlots(used: false), "{slot}", "Run slots of this process's worker node.");
    }

    public static void Enqueued(string job, int count = 1) => s_enqueued.Add(count, Tag("job", job));

    public static void Started(string job, TimeSpan dispatchLatency)
    {
        s_started.Add(1, Tag("job", job));
        s_dispatchLatency.Record(Math.Max(0, dispatchLatency.TotalSeconds), Tag("job", job));
    }

    public static void Finished(string job, TaskRunStatus status) => s_finished.Add(1, Tag("job", job), Tag("outcome", status.ToWire()));

    public static void AttemptEnded(string job, TaskRunStatus outcome, TimeSpan duration) =>
        s_taskDuration.Record(Math.Max(0, duration.TotalSeconds), Tag("job", job), Tag("outcome", outcome.ToWire()));

    public static void LeaseExpired(string job) => s_leasesExpired.Add(1, Tag("job", job));

    public static void WorkerLost(string job) => s_workerLost.Add(1, Tag("job", job));

    public static void LogWritten(string stream, long bytes) => s_logBytes.Add(bytes, Tag("stream", stream));

    public static void RetentionDeleted(string kind, long count) => s_retentionDeleted.Add(count, Tag("kind", kind));

    /// <summary>Records a store call that began at <paramref name="startedAt"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static void StoreCall(string store, string operation, long startedAt) =>
        s_storeDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, Tag("store", store), Tag("operation", operation));

    /// <summary>Times one container engine call: <c>using (StevedoreMetrics.Container("create")) await …;</c></summary>
    public static OperationTimer Container(string operation) => new(operation, Stopwatch.GetTimestamp());

    /// <summary>A queue partition publishes what it holds per job; <c>null</c> when it deactivates.</summary>
    public static void PublishQueue(object partition, IReadOnlyList<QueueDepth>? depths)
    {
        if (depths is null)
        {
            s_queues.TryRemove(partition, out _);
        }
        else
        {
            s_queues[partition] = depths;
        }
    }

    /// <summary>A worker node shows its run slots while the returned registration lives.</summary>
    public static IDisposable ObserveSlots(string node, Func<int> used, int total)
    {
        var source = new SlotSource(node, used, total);
        s_slots[node] = source;
        return source;
    }

    private static IEnumerable<Measurement<long>> ObserveDepth() =>
        Aggregate().Select(q => new Measurement<long>(q.Count, Tag("job", q.Job)));

    private static IEnumerable<Measurement<double>> ObserveOldestAge()
    {
        var now = TimeProvider.System.GetUtcNow();
        return Aggregate().Select(q => new Measurement<double>(
            q.OldestReadySince is { } since ? Math.Max(0, (now - since).TotalSeconds) : 0, Tag("job", q.Job)));
    }

    private static IEnumerable<QueueDepth> Aggregate() =>
        s_queues.Values.SelectMany(d => d).GroupBy(d => d.Job, StringComparer.Ordinal).Select(g => new QueueDepth(
            g.Key, g.Sum(d => d.Count), g.Where(d => d.OldestReadySince is not null).Select(d => d.OldestReadySince).Min()));

    private static IEnumerable<Measurement<int>> ObserveSlots(bool used) =>
        s_slots.Values.Select(s => new Measurement<int>(used ? s.Used() : s.Total, Tag("node", s.Node))).ToList();

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);

    /// <summary>What a queue partition holds of one job.</summary>
    /// <param name="OldestReadySince">Since when the longest-waiting task that could run now has been able to; null when none can.</param>
    public readonly record struct QueueDepth(string Job, int Count, DateTimeOffset? OldestReadySince);

    public readonly struct OperationTimer(string operation, long startedAt) : IDisposable
    {
        public void Dispose() => s_containerOperation.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, Tag("operation", operation));
    }

    private sealed class SlotSource(string node, Func<int> used, int total) : IDisposable
    {
        public string Node { get; } = node;
        public Func<int> Used { get; } = used;
        public int Total { get; } = total;

        public void Dispose() => s_slots.TryRemove(new KeyValuePair<string, SlotSource>(Node, this));
    }
}
