using System.Text;
using Stevedore.Storage;
using Stevedore.Storage.Memory;
using Stevedore.Storage.Postgres;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>One suite, run against every storage backend: what the grains and the API rely on.</summary>
public abstract partial class StoreConformanceTests
{
    protected abstract IJobStore Jobs { get; }
    protected abstract ITaskStore Tasks { get; }
    protected abstract ITaskContentStore Content { get; }
    protected abstract ITaskIntake Intake { get; }
    /// <summary>A second intake over the same stores, as another silo of the cluster has.</summary>
    protected abstract ITaskIntake OtherSilosIntake { get; }
    protected abstract IScheduleStore Schedules { get; }
    protected abstract IWebhookStore Webhooks { get; }

    private static readonly DateTimeOffset s_now = new(2026, 3, 4, 5, 6, 7, 890, TimeSpan.Zero);

    private static TaskRecord NewTask(string job, TaskRunStatus status = TaskRunStatus.Queued, int partition = 0, Dictionary<string, string>? labels = null) => new()
    {
        Id = TaskIds.New(s_now),
        Job = job,
        Status = status,
        Partition = partition,
        Priority = 1,
        CreatedAt = s_now,
        MaxAttempts = 3,
        Labels = labels ?? new Dictionary<string, string>(),
    };

    private static string UniqueJob() => "job-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task TaskRecord_RoundTrips_WithEveryField()
    {
        var task = NewTask(UniqueJob(), labels: new() { ["k"] = "v ✓" }) with
        {
            JobVersion = 7,
            Attempt = 2,
            ExitCode = 3,
            Error = "boom",
            StartedAt = s_now.AddSeconds(1),
            FinishedAt = s_now.AddSeconds(2),
            RunAfter = s_now.AddSeconds(3),
            Node = "node-a",
            RetryOf = TaskIds.New(s_now),
            TimeoutSeconds = 9,
            IdempotencyKey = "key",
            CancelRequested = true,
            PayloadBytes = 12,
            Environment = new Dictionary<string, string> { ["STEVEDORE_HOOK_ID"] = "h", ["STEVEDORE_HOOK_CONTENT_TYPE"] = "image/png" },
            Attempts = [new AttemptRecord { Number = 1, Node = "n", StartedAt = s_now, FinishedAt = s_now.AddSeconds(1), Status = TaskRunStatus.Failed, ExitCode = 3, Error = "e" }],
        };
        Assert.Empty(await Tasks.InsertAsync([task]));

        var read = (await Tasks.GetAsync(task.Id))!;

        Assert.Equal(Strip(task), Strip(read));
        Assert.Equal("v ✓", read.Labels["k"]);
        Assert.Equal(task.Attempts.Single(), read.Attempts.Single());
        Assert.Equal(task.Environment, read.Environment);
        Assert.Null(await Tasks.GetAsync(TaskIds.New(s_now)));
    }

    private static readonly Dictionary<string, string> s_noLabels = [];
    private static readonly AttemptRecord[] s_noAttempts = [];

    private static TaskRecord Strip(TaskRecord t) => t with { Labels = s_noLabels, Attempts = s_noAttempts, Environment = s_noLabels };

    [Fact]
    public async Task Insert_LeavesExistingTasksAlone_AndSaysWhichExisted()
    {
        var first = NewTask(UniqueJob());
        await Tasks.InsertAsync([first]);
        var second = NewTask(first.Job);

        var existed = await Tasks.InsertAsync([first with { Error = "changed" }, second]);

        Assert.Equal([first.Id], existed);
        Assert.Null((await Tasks.GetAsync(first.Id))!.Error);
        Assert.NotNull(await Tasks.GetAsync(second.Id));
    }

    [Fact]
    public async Task Leases_AreSetOnStart_Renewed_FoundWhenLapsed_AndDroppedWhenNotRunning()
    {
        var job = UniqueJob();
        var running = NewTask(job, TaskRunStatus.Running) with { Attempt = 1 };
        var other = NewTask(job, TaskRunStatus.Running) with { Attempt = 1 };
        await Tasks.InsertAsync([running with { Status = TaskRunStatus.Queued }, other with { Status = TaskRunStatus.Queued }]);
        await Tasks.UpdateAsync(running, s_now.AddSeconds(10));
        await Tasks.UpdateAsync(other, s_now.AddSeconds(10));

        Assert.DoesNotContain(await Tasks.FindLapsedLeasesAsync(s_now.AddSeconds(5), 100), t => t.Job == job);
        await Tasks.RenewLeasesAsync([running.Id], s_now.AddSeconds(30));
        // A write without a lease keeps the running task's lease.
        await Tasks.UpdateAsync(running with { CancelRequested = true });
        var lapsed = (await Tasks.FindLapsedLeasesAsync(s_now.AddSeconds(20), 100)).Where(t => t.Job == job).ToList();
        Assert.Equal([other.Id], lapsed.Select(t => t.Id));
        Assert.Equal(2, (await Tasks.FindLapsedLeasesAsync(s_now.AddSeconds(40), 100)).Count(t => t.Job == job));

        await Tasks.UpdateAsync(other with { Status = TaskRunStatus.Succeeded });
        await Tasks.RenewLeasesAsync([other.Id], s_now.AddSeconds(60));
        Assert.Equal([running.Id], (await Tasks.FindLapsedLeasesAsync(s_now.AddDays(1), 100)).Where(t => t.Job == job).Select(t => t.Id));
    }

    [Fact]
    public async Task Query_FiltersNewestFirst_WithCursorPaging()
    {
        var job = UniqueJob();
        var tasks = Enumerable.Range(0, 5)
            .Select(i => NewTask(job, i < 3 ? TaskRunStatus.Queued : TaskRunStatus.Failed, labels: new() { ["n"] = (i % 2).ToString(System.Globalization.CultureInfo.InvariantCulture) }))
            .ToList();
        await Tasks.InsertAsync(tasks);

        var page = await Tasks.QueryAsync(new TaskQuery { Job = job, Limit = 2 });
        Assert.Equal([tasks[4].Id, tasks[3].Id], page.Items.Select(t => t.Id));
        page = await Tasks.QueryAsync(new TaskQuery { Job = job, Limit = 2, Cursor = page.NextCursor });
        Assert.Equal([tasks[2].Id, tasks[1].Id], page.Items.Select(t => t.Id));
        page = await Tasks.QueryAsync(new TaskQuery { Job = job, Limit = 2, Cursor = page.NextCursor });
        Assert.Equal([tasks[0].Id], page.Items.Select(t => t.Id));
        Assert.Null(page.NextCursor);

        Assert.Equal([tasks[4].Id, tasks[3].Id], (await Tasks.QueryAsync(new TaskQuery { Job = job, Status = TaskRunStatus.Failed })).Items.Select(t => t.Id));
        Assert.Equal([tasks[3].Id, tasks[1].Id], (await Tasks.QueryAsync(new TaskQuery { Job = job, Label = new("n", "1") })).Items.Select(t => t.Id));
        Assert.Empty((await Tasks.QueryAsync(new TaskQuery { Job = job, Label = new("n", "2") })).Items);

        var counts = await Tasks.CountByStatusAsync(job);
        Assert.Equal(3, counts[TaskRunStatus.Queued]);
        Assert.Equal(2, counts[TaskRunStatus.Failed]);
        Assert.Equal(0, counts[TaskRunStatus.Running]);
    }

    [Fact]
    public async Task LoadQueued_ReturnsOnlyThePartitionsQueuedTasks_AndLoadRunning_TheJobsRunningOnes()
    {
        var job = UniqueJob();
        var partition = Random.Shared.Next(1000, 1_000_000);
        var queued = NewTask(job, partition: partition) with { RunAfter = s_now.AddMinutes(1) };
        var running = NewTask(job, TaskRunStatus.Running, partition);
        var elsewhere = NewTask(job, partition: partition + 1);
        await Tasks.InsertAsync([queued, running, elsewhere]);

        var all = await Tasks.LoadQueuedSinceAsync(partition, DateTimeOffset.MinValue, TimeSpan.Zero);
        Assert.Equal([new QueueEntry(queued.Id, job, 1, s_now.AddMinutes(1))], all.Entries);
        Assert.Equal([running.Id], await Tasks.LoadRunningAsync(job));
    }

    [Fact]
    public async Task LoadQueuedSince_FindsEachTaskInOneWindowAfterItBecameQueued_AgainWhenItGoesBackToTheQueue()
    {
        var job = UniqueJob();
        var partition = Random.Shared.Next(1000, 1_000_000);
        var settled = await Tasks.LoadQueuedSinceAsync(partition, DateTimeOffset.MinValue, TimeSpan.Zero);
        var task = NewTask(job, partition: partition);
        await Intake.AddAsync(new NewTask(task, "p"u8.ToArray(), s_now.AddDays(-1)));

        // A window that ends before the task was queued does not hold it; of the windows after, exactly one does.
        var early = await Tasks.LoadQueuedSinceAsync(partition, settled.Until, TimeSpan.FromHours(1));
        Assert.Empty(early.Entries);
        Assert.True(early.Until < settled.Until);
        var first = await Tasks.LoadQueuedSinceAsync(partition, settled.Until, TimeSpan.Zero);
        var second = await Tasks.LoadQueuedSinceAsync(partition, first.Until, TimeSpan.Zero);
        Assert.Equal([task.Id], first.Entries.Concat(second.Entries).Select(e => e.TaskId));

        // Started: in no window. Back in the queue after its attempt: in a window after that.
        var running = task with { Status = TaskRunStatus.Running, Attempt = 1 };
        await Tasks.UpdateAsync(running, s_now.AddMinutes(1));
        var whileRunning = await Tasks.LoadQueuedSinceAsync(partition, DateTimeOffset.MinValue, TimeSpan.Zero);
        Assert.Empty(whileRunning.Entries);
        await Tasks.UpdateAsync(running with { Status = TaskRunStatus.Queued, RunAfter = s_now.AddMinutes(5) });
        var requeued = await Tasks.LoadQueuedSinceAsync(partition, second.Until, TimeSpan.Zero);
        var later = await Tasks.LoadQueuedSinceAsync(partition, requeued.Until, TimeSpan.Zero);
        Assert.Equal([new QueueEntry(task.Id, job, 1, s_now.AddMinutes(5))], requeued.Entries.Concat(later.Entries));
    }

    [Fact]
    public async Task FindExpired_TakesFinishedTasksBeforeTheirJobsCutoff_AndNothingElse()
    {
        var job = UniqueJob();
        var ownJob = UniqueJob();
        Task<TaskRecord> FinishedAsync(string j, int daysAgo, TaskRunStatus status = TaskRunStatus.Succeeded) =>
            InsertFinishedAsync(NewTask(j), status, s_now.AddDays(-daysAgo));
        var old = await FinishedAsync(job, 8);
        var oldFailed = await FinishedAsync(job, 9, TaskRunStatus.Failed);
        var young = await FinishedAsync(job, 6);
        var ownOld = await FinishedAsync(ownJob, 3);
        var ownYoung = await FinishedAsync(ownJob, 1);
        var queued = NewTask(job) with { CreatedAt = s_now.AddDays(-30) };
        var running = NewTask(job, TaskRunStatus.Running) with { CreatedAt = s_now.AddDays(-30) };
        await Tasks.InsertAsync([queued, running]);
        var cutoffs = new RetentionCutoffs(s_now.AddDays(-7), new Dictionary<string, DateTimeOffset> { [ownJob] = s_now.AddDays(-2) });

        var expired = (await Tasks.FindExpiredAsync(cutoffs, 10_000)).ToHashSet();

        Assert.Superset(new HashSet<string> { old.Id, oldFailed.Id, ownOld.Id }, expired);
        Assert.DoesNotContain(young.Id, expired);
        Assert.DoesNotContain(ownYoung.Id, expired);
        Assert.DoesNotContain(queued.Id, expired);
        Assert.DoesNotContain(running.Id, expired);
        Assert.Single(await Tasks.FindExpiredAsync(cutoffs with { Default = s_now.AddDays(-7), PerJob = new Dictionary<string, DateTimeOffset>() }, 1));
    }

    [Fact]
    public async Task DeleteFinished_RemovesFinishedRecordsAndTheirIdempotencyKeys_AndLeavesUnfinishedOnes()
    {
        var job = UniqueJob();
        var claimed = await Intake.AddAsync(Incoming(job, "k1"));
        var done = claimed.Task with { Status = TaskRunStatus.Succeeded, FinishedAt = s_now, Attempt = 1 };
        await Tasks.UpdateAsync(done);
        var queued = NewTask(job);
        await Tasks.InsertAsync([queued]);

        var deleted = await Tasks.DeleteFinishedAsync([done.Id, queued.Id, TaskIds.New(s_now)]);

        Assert.Equal([done.Id], deleted);
        Assert.Null(await Tasks.GetAsync(done.Id));
        Assert.NotNull(await Tasks.GetAsync(queued.Id));
        Assert.Equal(1, (await Tasks.CountByStatusAsync(job))[TaskRunStatus.Queued]);
        Assert.Equal(0, (await Tasks.CountByStatusAsync(job))[TaskRunStatus.Succeeded]);
        // The key is free again: a new task may claim it.
        Assert.False((await Intake.AddAsync(Incoming(job, "k1"))).Existing);
        Assert.Empty(await Tasks.DeleteFinishedAsync([done.Id]));
    }

    [Fact]
    public async Task DeleteLapsedIdempotencyKeys_RemovesOnlyKeysClaimedBeforeTheCutoff_InBatches()
    {
        var job = UniqueJob();
        var far = s_now.AddYears(-50); // older than any key another test claims
        for (var i = 0; i < 3; i++)
        {
            await Intake.AddAsync(Incoming(job, $"old{i}", at: far));
        }

        var held = await Intake.AddAsync(Incoming(job, "new"));

        Assert.Equal(2, await Tasks.DeleteLapsedIdempotencyKeysAsync(far.AddSeconds(1), 2));
        Assert.Equal(1, await Tasks.DeleteLapsedIdempotencyKeysAsync(far.AddSeconds(1), 2));
        Assert.Equal(0, await Tasks.DeleteLapsedIdempotencyKeysAsync(far.AddSeconds(1), 2));
        Assert.Equal(held.Task.Id, (await Intake.AddAsync(Incoming(job, "new"))).Task.Id);
    }

    [Fact]
    public async Task CountAllByStatus_CountsEveryJobsTasks()
    {
        var job = UniqueJob();
        await Tasks.InsertAsync([NewTask(job), NewTask(job), NewTask(job, TaskRunStatus.Failed)]);

        var counts = (await Tasks.CountAllByStatusAsync())[job];

        Assert.Equal(2, counts[TaskRunStatus.Queued]);
        Assert.Equal(1, counts[TaskRunStatus.Failed]);
        Assert.Equal(0, counts[TaskRunStatus.Succeeded]);
    }

    [Fact]
    public async Task ContentDelete_RemovesPayloadResultAndLog_OfThoseTasksOnly()
    {
        var id = TaskIds.New(s_now);
        var kept = TaskIds.New(s_now);
        foreach (var t in (string[])[id, kept])
        {
            await Content.PutPayloadAsync(t, "p"u8.ToArray());
            await Content.PutResultAsync(t, "r"u8.ToArray());
            await Content.AppendLogAsync(t, [new(1, LogStream.Stdout, "l"u8.ToArray())]);
        }

        await Content.DeleteAsync([id]);

        Assert.Null(await Content.GetPayloadAsync(id));
        Assert.Null(await Content.GetResultAsync(id));
        Assert.Empty((await Content.ReadLogAsync(id, 0, AllBytes)).Chunks);
        Assert.NotNull(await Content.GetPayloadAsync(kept));
        Assert.NotNull(await Content.GetResultAsync(kept));
        Assert.Single((await Content.ReadLogAsync(kept, 0, AllBytes)).Chunks);
    }

    /// <summary>Inserts a task queued, then writes it finished as its grain would.</summary>
    protected async Task<TaskRecord> InsertFinishedAsync(TaskRecord task, TaskRunStatus status, DateTimeOffset finishedAt)
    {
        await Tasks.InsertAsync([task]);
        var finished = task with { Status = status, FinishedAt = finishedAt, Attempt = 1 };
        await Tasks.UpdateAsync(finished);
        return finished;
    }

    [Fact]
    public async Task Jobs_UpsertGetListDelete()
    {
        var name = UniqueJob();
        var job = new JobInfo
        {
            Name = name,
            Spec = new JobSpec
            {
                Image = "busybox", Command = ["echo", "hi"], Env = new Dictionary<string, string> { ["A"] = "1" }, Cpus = 0.5, MaxConcurrency = 2,
                Capabilities = ["CHOWN", "KILL"], User = "1000:1000", ReadOnlyRootFilesystem = true,
            },
            Version = 1,
            CreatedAt = s_now,
            UpdatedAt = s_now,
        };
        await Jobs.UpsertAsync(job);
        await Jobs.UpsertAsync(job with { Version = 2, Paused = true });

        var read = (await Jobs.GetAsync(name))!;
        Assert.Equal(2, read.Version);
        Assert.True(read.Paused);
        Assert.True(read.Spec.SameAs(job.Spec));
        Assert.Contains(await Jobs.ListAsync(), j => j.Name == name);
        Assert.True(await Jobs.DeleteAsync(name));
        Assert.False(await Jobs.DeleteAsync(name));
        Assert.Null(await Jobs.GetAsync(name));
    }

    [Fact]
    public async Task Jobs_TopicIndex_FollowsTheDefinitions()
    {
        var (a, b, topic, other) = (UniqueJob(), UniqueJob(), "t-" + UniqueJob(), "o-" + UniqueJob());
        JobInfo Job(string name, params string[] topics) => new()
        {
            Name = name, Spec = new JobSpec { Image = "busybox", Subscriptions = topics }, Version = 1, CreatedAt = s_now, UpdatedAt = s_now,
        };

        await Jobs.UpsertAsync(Job(a, topic));
        await Jobs.UpsertAsync(Job(b, topic, other));
        Assert.Equal(new[] { a, b }.Order(StringComparer.Ordinal), (await Jobs.ListSubscribersAsync(topic)).Order(StringComparer.Ordinal));
        Assert.Equal([b], await Jobs.ListSubscribersAsync(other));
        Assert.Equal([topic], (await Jobs.GetAsync(a))!.Spec.Subscriptions);

        await Jobs.UpsertAsync(Job(a, other));
        await Jobs.DeleteAsync(b);

        Assert.Empty(await Jobs.ListSubscribersAsync(topic));
        Assert.Equal([a], await Jobs.ListSubscribersAsync(other));
        Assert.Empty(await Jobs.ListSubscribersAsync("nobody-" + UniqueJob()));
    }

    [Fact]
    public async Task Schedules_AreIndexedByJobAndSilo_WithTheirPayload()
    {
        var job = UniqueJob();
        var first = new ScheduleEntry(TaskIds.New(s_now), job, s_now);
        var second = new ScheduleEntry(TaskIds.New(s_now), job, s_now.AddSeconds(1));
        await Schedules.InsertAsync(second, Array.Empty<byte>());
        await Schedules.InsertAsync(first, new byte[] { 0, 1, 2, 255 });
        await Schedules.InsertAsync(first with { Job = "other" }, "ignored"u8.ToArray());
        await Schedules.InsertAsync(new ScheduleEntry(TaskIds.New(s_now), UniqueJob(), s_now), Array.Empty<byte>());

        Assert.Equal([first, second], await Schedules.ListByJobAsync(job));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, (await Schedules.GetPayloadAsync(first.Id))!.Value.ToArray());
        Assert.Equal(0, (await Schedules.GetPayloadAsync(second.Id))!.Value.Length);
        Assert.Null(await Schedules.GetPayloadAsync(TaskIds.New(s_now)));

        var silo = "S127.0.0.1:" + Random.Shared.Next(1000, 60000) + ":1";
        await Schedules.SetSiloAsync(first.Id, silo);
        await Schedules.SetSiloAsync(second.Id, silo);
        await Schedules.SetSiloAsync(second.Id, null);
        Assert.Equal([first.Id], await Schedules.ListBySiloAsync(silo));

        Assert.True(await Schedules.DeleteAsync(first.Id));
        Assert.False(await Schedules.DeleteAsync(first.Id));
        Assert.Equal([second], await Schedules.ListByJobAsync(job));
        Assert.Empty(await Schedules.ListBySiloAsync(silo));
    }

    [Fact]
    public async Task Webhooks_RoundTrip_ByIdAndJob()
    {
        var job = UniqueJob();
        var hook = new WebhookRecord { Id = TaskIds.New(s_now), Job = job, SecretHash = [1, 2, 3], Headers = ["X-GitHub-Event"], CreatedAt = s_now };
        var later = hook with { Id = TaskIds.New(s_now), Headers = [], CreatedAt = s_now.AddMinutes(1) };
        await Webhooks.InsertAsync(later);
        await Webhooks.InsertAsync(hook);
        await Webhooks.InsertAsync(new WebhookRecord { Id = TaskIds.New(s_now), Job = UniqueJob(), SecretHash = [9], CreatedAt = s_now });

        var read = (await Webhooks.GetAsync(hook.Id))!;
        Assert.Equal((hook.Id, job, hook.CreatedAt), (read.Id, read.Job, read.CreatedAt));
        Assert.Equal(hook.SecretHash, read.SecretHash);
        Assert.Equal(hook.Headers, read.Headers);
        Assert.Equal([hook.Id, later.Id], (await Webhooks.ListByJobAsync(job)).Select(h => h.Id));
        Assert.True(await Webhooks.DeleteAsync(hook.Id));
        Assert.False(await Webhooks.DeleteAsync(hook.Id));
        Assert.Null(await Webhooks.GetAsync(hook.Id));
        Assert.Equal([later.Id], (await Webhooks.ListByJobAsync(job)).Select(h => h.Id));
    }

    [Fact]
    public async Task Content_PayloadsResultsAndLogs_RoundTrip_InOrder()
    {
        var id = TaskIds.New(s_now);
        var other = TaskIds.New(s_now);
        await Content.PutPayloadsAsync([new(id, "héllo"u8.ToArray()), new(other, Array.Empty<byte>())]);
        Assert.Equal("héllo", Encoding.UTF8.GetString((await Content.GetPayloadAsync(id))!.Value.Span));
        Assert.Equal(0, (await Content.GetPayloadAsync(other))!.Value.Length);
        Assert.Null(await Content.GetPayloadAsync(TaskIds.New(s_now)));

        Assert.Null(await Content.GetResultAsync(id));
        await Content.PutResultAsync(id, "r"u8.ToArray());
        Assert.Equal("r", Encoding.UTF8.GetString((await Content.GetResultAsync(id))!.Value.Span));

        var (empty, start) = await Content.ReadLogAsync(id, 0, AllBytes);
        Assert.Empty(empty);
        var waiting = Content.WaitForLogAsync(id, start, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        await Content.AppendLogAsync(id, [new(1, LogStream.Stdout, "a"u8.ToArray()), new(1, LogStream.Stderr, "b"u8.ToArray())]);
        await Wait.ForAsync(waiting, "the log waiter to wake on the appended chunks");
        var (first, next) = await Content.ReadLogAsync(id, start, AllBytes);
        await Content.AppendLogAsync(id, [new(2, LogStream.System, "c"u8.ToArray())]);
        var (second, _) = await Content.ReadLogAsync(id, next, AllBytes);
        var (all, _) = await Content.ReadLogAsync(id, 0, AllBytes);

        Assert.Equal(["a", "b"], first.Select(c => Encoding.UTF8.GetString(c.Data.Span)));
        Assert.Equal([LogStream.Stdout, LogStream.Stderr], first.Select(c => c.Stream));
        Assert.Equal([(2, LogStream.System, "c")], second.Select(c => (c.Attempt, c.Stream, Encoding.UTF8.GetString(c.Data.Span))));
        Assert.Equal("abc", string.Concat(all.Select(c => Encoding.UTF8.GetString(c.Data.Span))));
        Assert.Empty((await Content.ReadLogAsync(other, 0, AllBytes)).Chunks);
    }

    private const int AllBytes = 1 << 20;

    [Fact]
    public async Task ReadLog_ComesInBoundedPages_InOrder_AndAnOversizedChunkAlone()
    {
        var id = TaskIds.New(s_now);
        var chunks = Enumerable.Range(0, 10).Select(i => new LogChunk(1, LogStream.Stdout, Enumerable.Repeat((byte)('a' + i), 1000).ToArray())).ToList();
        await Content.AppendLogAsync(id, [new(1, LogStream.Stderr, new byte[5000])]);
        await Content.AppendLogAsync(id, chunks);

        var pages = new List<int>();
        var text = new StringBuilder();
        long position = 0;
        while (true)
        {
            var (page, next) = await Content.ReadLogAsync(id, position, 2500);
            if (page.Count == 0)
            {
                Assert.Equal(position, next);
                break;
            }

            pages.Add(page.Count);
            text.Append(string.Concat(page.Select(c => Encoding.ASCII.GetString(c.Data.Span))));
            position = next;
        }

        // Chunks while the bytes before each stay under 2500: the 5000-byte one on a page of its own, then three of 1000.
        Assert.Equal([1, 3, 3, 3, 1], pages);
        Assert.Equal(new string('\0', 5000) + string.Concat(chunks.Select(c => Encoding.ASCII.GetString(c.Data.Span))), text.ToString());
    }

    [Fact]
    public async Task WaitForLog_WakesEveryWaiter_OnGrowth_AndACancelledWaiterIsCancelled()
    {
        var id = TaskIds.New(s_now);
        await Content.AppendLogAsync(id, [new(1, LogStream.Stdout, "a"u8.ToArray())]);
        var (_, position) = await Content.ReadLogAsync(id, 0, AllBytes);
        await Wait.ForAsync(Content.WaitForLogAsync(id, 0, CancellationToken.None), "a waiter behind the end of the log to wake at once");

        using var cancelled = new CancellationTokenSource();
        var gone = Content.WaitForLogAsync(id, position, cancelled.Token);
        var waiters = Enumerable.Range(0, 50).Select(_ => Content.WaitForLogAsync(id, position, CancellationToken.None)).ToList();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Wait.ForAsync(gone, "a cancelled waiter to end"));
        Assert.DoesNotContain(waiters, w => w.IsCompleted);

        await Content.AppendLogAsync(id, [new(1, LogStream.Stdout, "b"u8.ToArray())]);
        await Wait.ForAsync(Task.WhenAll(waiters), "all 50 waiters to wake on one append");
    }

    [Fact]
    public async Task CountQueued_CountsTheJobsQueuedTasksOnly()
    {
        var job = UniqueJob();
        var queued = NewTask(job);
        await Tasks.InsertAsync([queued, NewTask(job), NewTask(job, TaskRunStatus.Running), NewTask(job, TaskRunStatus.Succeeded), NewTask(UniqueJob())]);
        Assert.Equal(2, await Tasks.CountQueuedAsync(job));

        await Tasks.UpdateAsync(queued with { Status = TaskRunStatus.Running });
        Assert.Equal(1, await Tasks.CountQueuedAsync(job));
        Assert.Equal(0, await Tasks.CountQueuedAsync(UniqueJob()));
    }
}

public sealed class MemoryStoreConformanceTests : StoreConformanceTests
{
    public MemoryStoreConformanceTests()
    {
        Intake = MemoryTaskIntake.Over(Tasks, Content);
        OtherSilosIntake = MemoryTaskIntake.Over(Tasks, Content);
    }

    protected override IJobStore Jobs { get; } = new MemoryJobStore();
    protected override ITaskStore Tasks { get; } = new MemoryTaskStore();
    protected override ITaskContentStore Content { get; } = new MemoryTaskContentStore();
    protected override ITaskIntake Intake { get; }
    protected override ITaskIntake OtherSilosIntake { get; }
    protected override IScheduleStore Schedules { get; } = new MemoryScheduleStore();
    protected override IWebhookStore Webhooks { get; } = new MemoryWebhookStore();
}

public sealed class PostgresStoreConformanceTests(TestDatabase db) : StoreConformanceTests, IClassFixture<TestDatabase>
{
    protected override IJobStore Jobs { get; } = new PostgresJobStore(db.DataSource);
    protected override ITaskStore Tasks { get; } = new PostgresTaskStore(db.DataSource);
    protected override ITaskContentStore Content { get; } = new PostgresTaskContentStore(db.DataSource);
    protected override ITaskIntake Intake { get; } = new PostgresTaskIntake(db.DataSource);
    protected override ITaskIntake OtherSilosIntake { get; } = new PostgresTaskIntake(db.DataSource);
    protected override IScheduleStore Schedules { get; } = new PostgresScheduleStore(db.DataSource);
    protected override IWebhookStore Webhooks { get; } = new PostgresWebhookStore(db.DataSource);

    [Fact]
    public async Task Intake_TakesOverAClaim_WhoseTaskWasNeverStored()
    {
        // Earlier versions claimed a key before storing its task; a request that died in between left the claim alone.
        var job = "job-" + Guid.NewGuid().ToString("N")[..8];
        await using (var orphan = db.DataSource.CreateCommand(
            "INSERT INTO stevedore_idempotency (job, key, task_id, claimed_at) VALUES ($1, 'k', $2, now())"))
        {
            orphan.Parameters.AddWithValue(job);
            orphan.Parameters.AddWithValue(TaskIds.New(DateTimeOffset.UtcNow));
            await orphan.ExecuteNonQueryAsync();
        }

        var incoming = Incoming(job, "k", at: DateTimeOffset.UtcNow);
        var added = await Intake.AddAsync(incoming);
        var repeat = await Intake.AddAsync(Incoming(job, "k", at: DateTimeOffset.UtcNow));

        Assert.Equal((incoming.Record.Id, false), (added.Task.Id, added.Existing));
        Assert.NotNull(await Tasks.GetAsync(incoming.Record.Id));
        Assert.Equal((incoming.Record.Id, true), (repeat.Task.Id, repeat.Existing));
    }
}
