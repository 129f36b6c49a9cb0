using System.Collections.Concurrent;
using System.Net;

namespace Stevedore.Soak;

/// <summary>A job of the soak: its definition, and what the invariants need to know of it.</summary>
public sealed record SoakJob(string Name, int Retries, int MaxConcurrency, object Definition);

/// <summary>
/// The soak's load: a steady mix of short, delayed, long, cancelled, failing, timing-out and maxConcurrency-limited
/// tasks at random priorities, each with an idempotency key, some sent again. Callers choose from seeded randoms.
/// </summary>
public sealed class Workload(Api api, int seed, string image)
{
    public const string KindLabel = "kind";

    private static readonly (string Kind, int Weight)[] s_mix =
    [
        ("short", 25), ("delayed", 10), ("long", 8), ("cancelled", 8), ("failing", 12), ("timing-out", 8), ("limited", 19), ("resend", 10),
    ];

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _idsByKey = new();
    private readonly ConcurrentBag<Task> _background = [];
    private readonly List<(string Job, object Body, string Key)> _sent = [];
    private int _keys;
    private int _resent;
    private int _cancels;
    private int _refused;
    private readonly List<string> _refusals = [];

    public IReadOnlyList<SoakJob> Jobs =>
    [
        Job("soak-short", ["sh", "-c", "echo ok"], retries: 2),
        Job("soak-long", ["sh", "-c", "sleep 8; echo done"], retries: 1),
        Job("soak-failing", ["sh", "-c", "echo failing >&2; exit 3"], retries: 2),
        Job("soak-timing-out", ["sleep", "30"], retries: 1, timeoutSeconds: 2),
        Job("soak-limited", ["sh", "-c", "sleep 2"], retries: 1, maxConcurrency: 2),
    ];

    /// <summary>Every task id an enqueue answered, per idempotency key (more than one is a violation).</summary>
    public IReadOnlyDictionary<string, IReadOnlyCollection<string>> IdsByKey =>
        _idsByKey.ToDictionary(p => p.Key, p => (IReadOnlyCollection<string>)p.Value.Keys.ToList());

    public int Resent => _resent;
    public int Cancels => _cancels;
    public int Refused => _refused;
    public IReadOnlyList<string> Refusals => _refusals;

    private SoakJob Job(string name, string[] command, int retries, int timeoutSeconds = 60, int maxConcurrency = 0) =>
        new(name, retries, maxConcurrency, new
        {
            image,
            command,
            retries,
            retryDelaySeconds = 1,
            retryBackoff = 1,
            timeoutSeconds,
            maxConcurrency,
            memoryMb = 32,
            network = "none",
        });

    public async Task DefineJobsAsync(CancellationToken ct)
    {
        foreach (var job in Jobs)
        {
            var answer = await api.SendAsync(HttpMethod.Put, $"/v1/jobs/{job.Name}", job.Definition, TimeSpan.FromMinutes(1), ct);
            if (answer is not { Status: HttpStatusCode.OK or HttpStatusCode.Created })
            {
                throw new InvalidOperationException($"PUT job {job.Name} answered {answer?.Status.ToString() ?? "nothing"}: {answer?.Body}");
            }
        }
    }

    /// <summary><paramref name="callers"/> callers enqueue until <paramref name="until"/>; then waits for their cancels.</summary>
    public async Task RunAsync(int callers, DateTimeOffset until, CancellationToken ct)
    {
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => CallerAsync(new Random(seed + 1 + c), until, ct)));
        await Task.WhenAll(_background);
    }

    private async Task CallerAsync(Random random, DateTimeOffset until, CancellationToken ct)
    {
        while (DateTimeOffset.UtcNow < until)
        {
            var kind = Pick(random);
            if (kind == "resend")
            {
                await ResendAsync(random, ct);
            }
            else
            {
                var (job, body, key) = Draft(kind, random);
                var id = await EnqueueAsync(job, body, key, ct);
                if (id is not null && kind == "cancelled")
                {
                    _background.Add(CancelLaterAsync(id, TimeSpan.FromSeconds(0.5 + (random.NextDouble() * 6)), ct));
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(0.6 + (random.NextDouble() * 1.4)), ct);
        }
    }

    private static string Pick(Random random)
    {
        var roll = random.Next(s_mix.Sum(m => m.Weight));
        foreach (var (kind, weight) in s_mix)
        {
            if (roll < weight)
            {
                return kind;
            }

            roll -= weight;
        }

        return s_mix[0].Kind;
    }

    private (string Job, object Body, string Key) Draft(string kind, Random random)
    {
        var key = $"k-{Interlocked.Increment(ref _keys)}";
        var job = kind switch
        {
            "long" or "cancelled" => "soak-long",
            "failing" => "soak-failing",
            "timing-out" => "soak-timing-out",
            "limited" => "soak-limited",
            _ => "soak-short",
        };
        var labels = new Dictionary<string, string> { [KindLabel] = kind, ["key"] = key };
        object body = kind == "delayed"
            ? new { payload = key, priority = random.Next(3), idempotencyKey = key, labels, delaySeconds = 2 + random.Next(9) }
            : new { payload = key, priority = random.Next(3), idempotencyKey = key, labels };
        lock (_sent)
        {
            _sent.Add((job, body, key));
        }

        return (job, body, key);
    }

    /// <summary>Sends an enqueue (again on any failure, with its key) until it is answered; returns the task id.</summary>
    private async Task<string?> EnqueueAsync(string job, object body, string key, CancellationToken ct)
    {
        var answer = await api.SendAsync(HttpMethod.Post, $"/v1/jobs/{job}/tasks", body, TimeSpan.FromMinutes(1), ct);
        if (answer is not { Status: HttpStatusCode.Accepted or HttpStatusCode.OK } ok)
        {
            if (answer is { } refused)
            {
                Refuse($"enqueue {key} → {(int)refused.Status} {refused.Body}");
            }

            return null;
        }

        var id = ok.Body.GetProperty("id").GetString()!;
        _idsByKey.GetOrAdd(key, _ => new()).TryAdd(id, 0);
        return id;
    }

    private async Task ResendAsync(Random random, CancellationToken ct)
    {
        (string Job, object Body, string Key) earlier;
        lock (_sent)
        {
            if (_sent.Count == 0)
            {
                return;
            }

            earlier = _sent[random.Next(_sent.Count)];
        }

        Interlocked.Increment(ref _resent);
        await EnqueueAsync(earlier.Job, earlier.Body, earlier.Key, ct);
    }

    private async Task CancelLaterAsync(string id, TimeSpan after, CancellationToken ct)
    {
        await Task.Delay(after, ct);
        Interlocked.Increment(ref _cancels);
        var answer = await api.SendAsync(HttpMethod.Post, $"/v1/tasks/{id}/cancel", null, TimeSpan.FromMinutes(1), ct);
        // 200: cancelled or being cancelled; 409: it had finished already.
        if (answer is { } a && a.Status is not (HttpStatusCode.OK or HttpStatusCode.Conflict))
        {
            Refuse($"cancel {id} → {(int)a.Status} {a.Body}");
        }
    }

    private void Refuse(string what)
    {
        Interlocked.Increment(ref _refused);
        lock (_refusals)
        {
            if (_refusals.Count < 5)
            {
                _refusals.Add(what);
            }
        }
    }
}
