using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Stevedore.Grains.Retention;
using Stevedore.Options;
using Stevedore.Storage;
using Stevedore.Storage.Memory;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>
/// Retention on a fake clock, against every storage backend: the sweeper deletes what has outlived its retention,
/// with everything it holds, and touches nothing younger.
/// </summary>
public abstract class RetentionTests
{
    private static readonly DateTimeOffset s_start = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

    protected abstract IJobStore Jobs { get; }
    protected abstract ITaskStore Tasks { get; }
    protected abstract ITaskContentStore Content { get; }
    protected abstract ITaskIntake Intake { get; }

    protected FakeTimeProvider Clock { get; } = new(s_start);

    protected RetentionSweeper Sweeper(int batchSize = 50) => new(
        Jobs, Tasks, Content,
        Microsoft.Extensions.Options.Options.Create(new RetentionOptions { FinishedTasks = TimeSpan.FromDays(7), BatchSize = batchSize }),
        Microsoft.Extensions.Options.Options.Create(new QueueOptions()),
        Clock);

    /// <summary>A task of <paramref name="job"/> with a payload, a log, a result and an idempotency key, finished now.</summary>
    protected async Task<TaskRecord> FinishedTaskAsync(string job, int contentBytes = 64, TaskRunStatus status = TaskRunStatus.Succeeded)
    {
        var now = Clock.GetUtcNow();
        var id = TaskIds.New(now);
        var task = new TaskRecord { Id = id, Job = job, Status = TaskRunStatus.Queued, CreatedAt = now, IdempotencyKey = "key-" + id };
        var bytes = new byte[contentBytes];
        Random.Shared.NextBytes(bytes);
        Assert.False((await Intake.AddAsync(new NewTask(task, bytes.ToArray(), now.AddHours(-24)))).Existing);
        await Content.AppendLogAsync(id, [new(1, LogStream.Stdout, bytes)]);
        await Content.PutResultAsync(id, bytes.ToArray());
        var finished = task with { Status = status, Attempt = 1, StartedAt = now, FinishedAt = now };
        await Tasks.UpdateAsync(finished);
        return finished;
    }

    protected async Task<bool> IsGoneAsync(TaskRecord task) =>
        await Tasks.GetAsync(task.Id) is null
        && await Content.GetPayloadAsync(task.Id) is null
        && await Content.GetResultAsync(task.Id) is null
        && (await Content.ReadLogAsync(task.Id, 0, int.MaxValue)).Chunks.Count == 0
        && await KeyIsFreeAsync(task.Job, task.IdempotencyKey!);

    /// <summary>
    /// Whether a new task may take the key: a probe task with it is stored (not answered by a holder). The probe is
    /// stored finished and deleted at once, so that it leaves nothing behind.
    /// </summary>
    private async Task<bool> KeyIsFreeAsync(string job, string key)
    {
        var now = Clock.GetUtcNow();
        var probe = new TaskRecord
        {
            Id = TaskIds.New(now), Job = job, Status = TaskRunStatus.Cancelled, CreatedAt = now, FinishedAt = now, IdempotencyKey = key,
        };
        var added = await Intake.AddAsync(new NewTask(probe, ReadOnlyMemory<byte>.Empty, now.AddHours(-24)));
        if (added.Existing)
        {
            return false;
        }

        Assert.Equal([probe.Id], await Tasks.DeleteFinishedAsync([probe.Id]));
        await Content.DeleteAsync([probe.Id]);
        return true;
    }

    /// <summary>Claims <paramref name="key"/> with a new queued task at the clock's time; the task that holds it after.</summary>
    private async Task<AddedTask> ClaimAsync(string job, string key, TimeSpan window)
    {
        var now = Clock.GetUtcNow();
        var task = new TaskRecord { Id = TaskIds.New(now), Job = job, Status = TaskRunStatus.Queued, CreatedAt = now, IdempotencyKey = key };
        return await Intake.AddAsync(new NewTask(task, ReadOnlyMemory<byte>.Empty, now - window));
    }

    protected async Task<bool> IsWholeAsync(TaskRecord task) =>
        await Tasks.GetAsync(task.Id) is not null
        && await Content.GetPayloadAsync(task.Id) is not null
        && await Content.GetResultAsync(task.Id) is not null
        && (await Content.ReadLogAsync(task.Id, 0, int.MaxValue)).Chunks.Count == 1;

    [Fact]
    public async Task Sweep_DeletesWhatOutlivedItsRetention_WithEverythingItHolds_AndNothingYounger()
    {
        var standard = Names.Unique("standard");
        var brief = Names.Unique("brief");
        var deletedJob = Names.Unique("gone"); // its tasks follow the default
        await Jobs.UpsertAsync(new JobInfo { Name = standard, Spec = new JobSpec { Image = "x" } });
        await Jobs.UpsertAsync(new JobInfo { Name = brief, Spec = new JobSpec { Image = "x", RetentionDays = 1 } });

        var oldStandard = new List<TaskRecord>();
        var oldBrief = new List<TaskRecord>();
        var oldGone = new List<TaskRecord>();
        for (var i = 0; i < 60; i++)
        {
            oldStandard.Add(await FinishedTaskAsync(standard, status: i % 3 == 0 ? TaskRunStatus.Failed : TaskRunStatus.Succeeded));
        }

        for (var i = 0; i < 20; i++)
        {
            oldBrief.Add(await FinishedTaskAsync(brief));
            oldGone.Add(await FinishedTaskAsync(deletedJob));
        }

        var stillQueued = new TaskRecord { Id = TaskIds.New(Clock.GetUtcNow()), Job = standard, CreatedAt = Clock.GetUtcNow() };
        await Tasks.InsertAsync([stillQueued]);

        // Two days on: only the job with one day of retention has expired tasks.
        Clock.Advance(TimeSpan.FromDays(2));
        var youngStandard = await FinishedTaskAsync(standard);
        var youngBrief = await FinishedTaskAsync(brief);
        var first = await Sweeper().SweepAllAsync();

        Assert.True(first.Tasks >= oldBrief.Count, $"swept {first.Tasks}");
        foreach (var task in oldBrief)
        {
            Assert.True(await IsGoneAsync(task), $"{task.Id} of {brief} should be gone after a day");
        }

        foreach (var task in oldStandard.Concat(oldGone).Append(youngStandard).Append(youngBrief))
        {
            Assert.True(await IsWholeAsync(task), $"{task.Id} of {task.Job} is younger than its retention and must be whole");
        }

        // Seven days and a minute after the first tasks: those go; the ones finished two days later stay.
        Clock.Advance(TimeSpan.FromDays(5).Add(TimeSpan.FromMinutes(1)));
        await Sweeper().SweepAllAsync();

        foreach (var task in oldStandard.Concat(oldGone).Append(youngBrief))
        {
            Assert.True(await IsGoneAsync(task), $"{task.Id} of {task.Job} should be gone");
        }

        Assert.True(await IsWholeAsync(youngStandard), "a task finished five days ago must stay");
        Assert.NotNull(await Tasks.GetAsync(stillQueued.Id));
        Assert.Equal(1, (await Tasks.CountByStatusAsync(standard))[TaskRunStatus.Queued]);
        Assert.Equal(1, (await Tasks.CountByStatusAsync(standard))[TaskRunStatus.Succeeded]);
    }

    [Fact]
    public async Task Sweep_DeletesLapsedIdempotencyKeys_OfTasksStillRunning()
    {
        var job = Names.Unique("keys");
        var day = TimeSpan.FromHours(24);
        Assert.False((await ClaimAsync(job, "lapsing", day)).Existing);
        Clock.Advance(TimeSpan.FromHours(23));
        var fresh = await ClaimAsync(job, "fresh", day);
        Assert.False(fresh.Existing);
        Clock.Advance(TimeSpan.FromHours(2));

        var result = await Sweeper().SweepAllAsync();

        Assert.True(result.Keys >= 1);
        // Within a 48-hour window both claims would still hold; only the one the sweep deleted is free.
        Assert.Equal(fresh.Task.Id, (await ClaimAsync(job, "fresh", 2 * day)).Task.Id);
        Assert.False((await ClaimAsync(job, "lapsing", 2 * day)).Existing);
    }
}

public sealed class PostgresRetentionTests(TestDatabase db) : RetentionTests, IClassFixture<TestDatabase>
{
    protected override IJobStore Jobs { get; } = new PostgresJobStore(db.DataSource);
    protected override ITaskStore Tasks { get; } = new PostgresTaskStore(db.DataSource);
    protected override ITaskContentStore Content { get; } = new PostgresTaskContentStore(db.DataSource);
    protected override ITaskIntake Intake { get; } = new PostgresTaskIntake(db.DataSource);

    [Fact]
    public async Task Sweep_BringsEveryTableBackToWhereItWas()
    {
        var before = await RowCountsAsync();
        var job = Names.Unique("rows");
        for (var i = 0; i < 300; i++)
        {
            await FinishedTaskAsync(job, contentBytes: 512);
        }

        var during = await RowCountsAsync();
        Assert.All(during, t => Assert.True(t.Value >= before[t.Key] + 300, $"{t.Key}: {before[t.Key]} → {t.Value}"));
        Clock.Advance(TimeSpan.FromDays(8));

        await Sweeper(batchSize: 100).SweepAllAsync();

        Assert.Equal(before, await RowCountsAsync());
    }

    private async Task<Dictionary<string, long>> RowCountsAsync()
    {
        var counts = new Dictionary<string, long>();
        foreach (var table in (string[])["stevedore_tasks", "stevedore_payloads", "stevedore_results", "stevedore_logs", "stevedore_idempotency"])
        {
            await using var command = db.DataSource.CreateCommand($"SELECT count(*) FROM {table}");
            counts[table] = (long)(await command.ExecuteScalarAsync())!;
        }

        return counts;
    }
}

/// <summary>Runs alone (no other test allocating meanwhile), so that the managed heap can be measured.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuredCollection
{
    public const string Name = "measured";
}

[Collection(MeasuredCollection.Name)] // measures the managed heap: runs alone
public sealed class MemoryRetentionTests : RetentionTests
{
    public MemoryRetentionTests() => Intake = MemoryTaskIntake.Over(Tasks, Content);

    protected override IJobStore Jobs { get; } = new MemoryJobStore();
    protected override ITaskStore Tasks { get; } = new MemoryTaskStore();
    protected override ITaskContentStore Content { get; } = new MemoryTaskContentStore();
    protected override ITaskIntake Intake { get; }

    [Fact]
    public async Task Sweep_GivesTheMemoryBack()
    {
        var job = Names.Unique("heap");
        await FinishedTaskAsync(job); // first use of every structure
        var baseline = Settle();
        for (var i = 0; i < 3000; i++)
        {
            await FinishedTaskAsync(job, contentBytes: 4096);
        }

        var grown = Settle() - baseline;
        Assert.True(grown > 3000 * 4096 * 3, $"3000 tasks with 3 × 4 KiB each added only {grown} bytes");
        Clock.Advance(TimeSpan.FromDays(8));

        await Sweeper(batchSize: 500).SweepAllAsync();

        var left = Settle() - baseline;
        Assert.True(left < grown / 20, $"{left} of {grown} bytes are still held after the sweep");
    }

    private static long Settle()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
