using System.Text;
using Stevedore.Application;

namespace Stevedore.UnitTests.Grains;

[Collection(ClusterCollection.Name)]
public class IdempotencyTests(ClusterFixture fx)
{
    [Fact]
    public async Task OneKeyTwiceInABatch_GivesOneTask_ThatRuns()
    {
        await fx.PutJobAsync("idem-batch", new JobDraft { Image = "fake/ok" });

        var ids = (await fx.Tasks.EnqueueBatchAsync("idem-batch",
        [
            new TaskDraft { IdempotencyKey = "twice", Payload = "first"u8.ToArray() },
            new TaskDraft { Payload = "unkeyed"u8.ToArray() },
            new TaskDraft { IdempotencyKey = "twice", Payload = "second"u8.ToArray() },
        ])).Value!;

        Assert.Equal(ids[0], ids[2]);
        Assert.NotEqual(ids[0], ids[1]);
        Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(ids[0])).Status);
        Assert.Equal(TaskRunStatus.Succeeded, (await fx.WaitForEndAsync(ids[1])).Status);
        Assert.Equal("first", Encoding.UTF8.GetString((await fx.Tasks.GetResultAsync(ids[0])).Value!.Span));
        Assert.Equal(2, (await fx.Jobs.StatsAsync("idem-batch")).Value!.Counts[TaskRunStatus.Succeeded]);
    }

    [Fact]
    public async Task ConcurrentEnqueuesWithOneKey_TheTaskRunsThePayloadOfTheOneThatStoredIt()
    {
        await fx.PutJobAsync("idem-race", new JobDraft { Image = "fake/ok" });
        for (var round = 0; round < 30; round++)
        {
            var key = $"race-{round}";
            var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
                fx.Tasks.EnqueueAsync("idem-race", new TaskDraft { IdempotencyKey = key, Payload = Encoding.UTF8.GetBytes($"payload {i}") })));

            var stored = Assert.Single(answers, a => !a.Value!.Existing);
            Assert.All(answers, a => Assert.Equal(stored.Value!.Task.Id, a.Value!.Task.Id));
            var winner = Array.IndexOf(answers, stored);
            await fx.WaitForEndAsync(stored.Value!.Task.Id);
            Assert.Equal($"payload {winner}", Encoding.UTF8.GetString((await fx.Tasks.GetResultAsync(stored.Value.Task.Id)).Value!.Span));
        }
    }
}
