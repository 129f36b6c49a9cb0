using Microsoft.Extensions.DependencyInjection;
using Stevedore.Application;
using Stevedore.Storage;

namespace Stevedore.UnitTests.Grains;

/// <summary>A stored task runs even when the call that should hand it to its queue partition fails.</summary>
[Collection(ClusterCollection.Name)]
public class DeliveryTests(ClusterFixture fx)
{
    [Fact]
    public async Task EnqueueWhosePartitionDoesNotAnswer_IsAccepted_AndTheTaskRuns()
    {
        var job = UndeliverableFilter.JobPrefix + "enqueue";
        await fx.PutJobAsync(job, new JobDraft { Image = "fake/ok" });

        var result = await fx.Tasks.EnqueueAsync(job, new TaskDraft { Payload = "stored"u8.ToArray() });

        Assert.True(result.Ok, result.Error?.Detail);
        Assert.False(result.Value!.Existing);
        Assert.Equal(TaskRunStatus.Succeeded, (await fx.AdvanceUntilEndedAsync(result.Value.Task.Id, TimeSpan.FromSeconds(1))).Status);
        Assert.Equal(1, (await fx.Jobs.StatsAsync(job)).Value!.Counts[TaskRunStatus.Succeeded]);
    }

    [Fact]
    public async Task ARetryThatCannotReachItsPartition_RunsAllTheSame()
    {
        var job = UndeliverableFilter.JobPrefix + "retry";
        await fx.PutJobAsync(job, new JobDraft { Image = "fake/fail", Retries = 1, RetryDelaySeconds = 0 });

        var task = await fx.EnqueueAsync(job);
        var done = await fx.AdvanceUntilEndedAsync(task.Id, TimeSpan.FromSeconds(1));

        Assert.Equal(TaskRunStatus.Failed, done.Status);
        Assert.Equal(2, done.Attempt);
    }

    [Fact]
    public async Task ATaskStoredByACallerThatDiedBeforeQueueingIt_Runs()
    {
        await fx.PutJobAsync("orphaned-insert", new JobDraft { Image = "fake/ok" });
        var now = DateTimeOffset.UtcNow;
        var id = TaskIds.New(now);
        var record = new TaskRecord
        {
            Id = id, Job = "orphaned-insert", JobVersion = 1, Status = TaskRunStatus.Queued, CreatedAt = now,
            Partition = TaskIds.PartitionOf(id, Stevedore.Options.QueueOptions.DefaultPartitions),
        };
        Assert.Empty(await fx.Services.GetRequiredService<ITaskStore>().InsertAsync([record]));

        Assert.Equal(TaskRunStatus.Succeeded, (await fx.AdvanceUntilEndedAsync(id, TimeSpan.FromSeconds(1))).Status);
    }
}
