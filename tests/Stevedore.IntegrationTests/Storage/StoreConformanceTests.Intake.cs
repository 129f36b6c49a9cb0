using System.Text;
using Stevedore.Storage;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>New tasks: record, payload and idempotency key stored together, also when many callers come at once.</summary>
public abstract partial class StoreConformanceTests
{
    private const int Callers = 64;

    protected static NewTask Incoming(string job, string? key = null, string payload = "p", DateTimeOffset? at = null, TimeSpan? window = null)
    {
        var now = at ?? s_now;
        var record = NewTask(job) with { Id = TaskIds.New(now), CreatedAt = now, IdempotencyKey = key };
        return new NewTask(record, Encoding.UTF8.GetBytes(payload), now - (window ?? TimeSpan.FromHours(24)));
    }

    /// <summary>Every call on its own thread pool item, started together, as concurrent requests come in.</summary>
    private async Task<AddedTask[]> AddConcurrentlyAsync(IReadOnlyList<NewTask> tasks) =>
        await Task.WhenAll(tasks.Select(t => Task.Run(() => Intake.AddAsync(t))));

    private async Task<long> QueuedAsync(string job) => (await Tasks.CountByStatusAsync(job))[TaskRunStatus.Queued];

    [Fact]
    public async Task Intake_ConcurrentSingles_WithoutKeys_AreAllStored_WithTheirPayloads()
    {
        var job = UniqueJob();
        var incoming = Enumerable.Range(0, Callers).Select(i => Incoming(job, payload: $"p{i}")).ToList();

        var added = await AddConcurrentlyAsync(incoming);

        Assert.All(added, a => Assert.False(a.Existing));
        Assert.Equal(incoming.Select(t => t.Record.Id), added.Select(a => a.Task.Id));
        Assert.Equal(Callers, await QueuedAsync(job));
        for (var i = 0; i < Callers; i++)
        {
            Assert.Equal(incoming[i].Record.Id, (await Tasks.GetAsync(incoming[i].Record.Id))?.Id);
            Assert.Equal($"p{i}", Encoding.UTF8.GetString((await Content.GetPayloadAsync(incoming[i].Record.Id))!.Value.Span));
        }
    }

    [Fact]
    public async Task Intake_EmptyPayloads_AreNotStored_BesideOthersThatAre()
    {
        var job = UniqueJob();
        var incoming = Enumerable.Range(0, 8).Select(i => Incoming(job, payload: i % 2 == 0 ? "" : $"p{i}")).ToList();

        await AddConcurrentlyAsync(incoming);

        for (var i = 0; i < incoming.Count; i++)
        {
            var stored = await Content.GetPayloadAsync(incoming[i].Record.Id);
            if (i % 2 == 0)
            {
                Assert.Null(stored); // no row: it reads as empty wherever a payload is read
            }
            else
            {
                Assert.Equal($"p{i}", Encoding.UTF8.GetString(stored!.Value.Span));
            }
        }
    }

    [Fact]
    public async Task Intake_ConcurrentSingles_WithTheSameKey_StoreOneTask()
    {
        var job = UniqueJob();
        var incoming = Enumerable.Range(0, Callers).Select(i => Incoming(job, key: "order-42", payload: $"p{i}")).ToList();

        var added = await AddConcurrentlyAsync(incoming);

        var stored = Assert.Single(added, a => !a.Existing).Task;
        Assert.All(added, a => Assert.Equal(stored.Id, a.Task.Id));
        Assert.Equal(1, await QueuedAsync(job));
        var winner = incoming.Single(t => t.Record.Id == stored.Id);
        Assert.Equal(winner.Payload.ToArray(), (await Content.GetPayloadAsync(stored.Id))!.Value.ToArray());
        Assert.Equal(stored.Id, (await Intake.AddAsync(Incoming(job, key: "order-42", at: s_now.AddHours(1)))).Task.Id);
    }

    [Fact]
    public async Task Intake_TheSameKey_ThroughTwoSilosIntakes_StoresOneTask()
    {
        var job = UniqueJob();
        var incoming = Enumerable.Range(0, Callers).Select(_ => Incoming(job, key: "order-7")).ToList();

        var added = await Task.WhenAll(incoming.Select((t, i) => Task.Run(() => (i % 2 == 0 ? Intake : OtherSilosIntake).AddAsync(t))));

        var stored = Assert.Single(added, a => !a.Existing).Task;
        Assert.All(added, a => Assert.Equal(stored.Id, a.Task.Id));
        Assert.Equal(1, await QueuedAsync(job));
    }

    [Fact]
    public async Task Intake_ConcurrentSingles_WithDistinctKeys_AreAllStored()
    {
        var job = UniqueJob();
        var incoming = Enumerable.Range(0, Callers).Select(i => Incoming(job, key: $"k{i}")).ToList();

        var added = await AddConcurrentlyAsync(incoming);

        Assert.All(added, a => Assert.False(a.Existing));
        Assert.Equal(Callers, await QueuedAsync(job));
        var again = await AddConcurrentlyAsync(Enumerable.Range(0, Callers).Select(i => Incoming(job, key: $"k{i}")).ToList());
        Assert.All(again, a => Assert.True(a.Existing));
        Assert.Equal(added.Select(a => a.Task.Id), again.Select(a => a.Task.Id));
        Assert.Equal(Callers, await QueuedAsync(job));
    }

    [Fact]
    public async Task Intake_OneTaskTheStoreRefuses_DoesNotLoseTheOthers()
    {
        var job = UniqueJob();
        // A NUL character: PostgreSQL refuses it in text; the in-memory store takes it.
        var bad = Incoming(job) with { Record = NewTask(job) with { Id = "bad\0id" } };
        var good = Enumerable.Range(0, Callers).Select(i => Incoming(job, key: i % 2 == 0 ? $"k{i}" : null, payload: $"p{i}")).ToList();
        var incoming = good.Take(Callers / 2).Append(bad).Concat(good.Skip(Callers / 2)).ToList();

        var calls = incoming.Select(t => Task.Run(() => Intake.AddAsync(t))).ToList();
        try
        {
            await Task.WhenAll(calls);
        }
        catch (Exception)
        {
            // Only the bad one may fail; each call is checked below.
        }

        for (var i = 0; i < incoming.Count; i++)
        {
            if (incoming[i] != bad)
            {
                Assert.True(calls[i].IsCompletedSuccessfully, $"call {i} failed with the bad one: {calls[i].Exception?.InnerException?.Message}");
            }
        }

        var stored = calls.Count(c => c.IsCompletedSuccessfully);
        Assert.Equal(stored, await QueuedAsync(job));
        foreach (var task in good)
        {
            Assert.NotNull(await Tasks.GetAsync(task.Record.Id));
        }
    }

    [Fact]
    public async Task Intake_IdempotencyKey_HoldsPerJob_UntilItLapses()
    {
        var job = UniqueJob();
        var first = await Intake.AddAsync(Incoming(job, "k"));
        var repeat = await Intake.AddAsync(Incoming(job, "k", at: s_now.AddHours(1)));
        var otherJob = await Intake.AddAsync(Incoming(UniqueJob(), "k"));
        var afterWindow = await Intake.AddAsync(Incoming(job, "k", at: s_now.AddHours(25)));
        var repeatAfter = await Intake.AddAsync(Incoming(job, "k", at: s_now.AddHours(26)));

        Assert.False(first.Existing);
        Assert.Equal((first.Task.Id, true), (repeat.Task.Id, repeat.Existing));
        Assert.False(otherJob.Existing);
        Assert.False(afterWindow.Existing);
        Assert.NotEqual(first.Task.Id, afterWindow.Task.Id);
        Assert.Equal((afterWindow.Task.Id, true), (repeatAfter.Task.Id, repeatAfter.Existing));
        Assert.Equal(2, await QueuedAsync(job));
    }

    [Fact]
    public async Task Intake_Many_StoresInOrder_AndARepeatedKeyAnswersWithTheFirst()
    {
        var job = UniqueJob();
        var incoming = new[] { Incoming(job, "a", "one"), Incoming(job), Incoming(job, "a", "two"), Incoming(job, "b") };

        var added = await Intake.AddManyAsync(incoming);

        Assert.Equal([false, false, true, false], added.Select(a => a.Existing));
        Assert.Equal([incoming[0].Record.Id, incoming[1].Record.Id, incoming[0].Record.Id, incoming[3].Record.Id], added.Select(a => a.Task.Id));
        Assert.Equal(3, await QueuedAsync(job));
        Assert.Equal("one", Encoding.UTF8.GetString((await Content.GetPayloadAsync(incoming[0].Record.Id))!.Value.Span));
        Assert.Null(await Tasks.GetAsync(incoming[2].Record.Id));
        var again = await Intake.AddManyAsync([Incoming(job, "b"), Incoming(job, "c")]);
        Assert.Equal([(incoming[3].Record.Id, true), (again[1].Task.Id, false)], again.Select(a => (a.Task.Id, a.Existing)));
        Assert.Empty(await Intake.AddManyAsync([]));
    }
}
