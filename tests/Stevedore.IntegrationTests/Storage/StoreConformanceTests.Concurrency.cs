using System.Text;
using Stevedore.Storage;

namespace Stevedore.IntegrationTests.Storage;

/// <summary>The suite's concurrency cases: many tasks' reads and writes at once, as a busy node makes them.</summary>
public abstract partial class StoreConformanceTests
{
    [Fact]
    public async Task ConcurrentStartsAndEndsOfManyTasks_EachReadsAndWritesItsOwn()
    {
        // What a busy node does: records and payloads read, results and records written, all at once for many tasks
        // (on PostgreSQL each kind is coalesced across tasks: one answer must never land at another task).
        var job = UniqueJob();
        var tasks = Enumerable.Range(0, 60).Select(_ => NewTask(job)).ToList();
        Assert.Empty(await Tasks.InsertAsync(tasks));
        await Task.WhenAll(tasks.Select(t => Content.PutPayloadAsync(t.Id, Encoding.UTF8.GetBytes("payload " + t.Id))));

        await Task.WhenAll(tasks.Select((t, i) => Task.Run(async () =>
        {
            var read = await Tasks.GetAsync(t.Id);
            Assert.Equal(t.Id, read?.Id);
            var payload = await Content.GetPayloadAsync(t.Id);
            Assert.Equal("payload " + t.Id, Encoding.UTF8.GetString(payload!.Value.Span));
            await Content.PutResultAsync(t.Id, Encoding.UTF8.GetBytes("result " + t.Id));
            await Tasks.UpdateAsync(read! with { Status = i % 2 == 0 ? TaskRunStatus.Succeeded : TaskRunStatus.Failed, Attempt = 1 });
        })));

        for (var i = 0; i < tasks.Count; i++)
        {
            var stored = await Tasks.GetAsync(tasks[i].Id);
            Assert.Equal(i % 2 == 0 ? TaskRunStatus.Succeeded : TaskRunStatus.Failed, stored?.Status);
            Assert.Equal("result " + tasks[i].Id, Encoding.UTF8.GetString((await Content.GetResultAsync(tasks[i].Id))!.Value.Span));
        }

        Assert.Null(await Tasks.GetAsync(TaskIds.New(s_now)));
        Assert.Null(await Content.GetPayloadAsync(TaskIds.New(s_now)));
    }

    [Fact]
    public async Task ConcurrentFlushesOfManyTasks_KeepEachTasksChunks_InOrder()
    {
        // Flushes of different tasks may share a statement: each task's log must still read back whole and in order.
        var ids = Enumerable.Range(0, 40).Select(_ => TaskIds.New(s_now)).ToList();
        static LogChunk Chunk(int task, int flush, int i) =>
            new(1 + (flush % 2), (LogStream)(1 + ((task + i) % 3)), Encoding.UTF8.GetBytes($"{task}.{flush}.{i};"));
        await Task.WhenAll(ids.Select((id, t) => Task.Run(async () =>
        {
            for (var f = 0; f < 5; f++)
            {
                await Content.AppendLogAsync(id, Enumerable.Range(0, 1 + ((t + f) % 3)).Select(i => Chunk(t, f, i)).ToList());
            }
        })));

        for (var t = 0; t < ids.Count; t++)
        {
            var expected = Enumerable.Range(0, 5).SelectMany(f => Enumerable.Range(0, 1 + ((t + f) % 3)).Select(i => Chunk(t, f, i)));
            var (chunks, _) = await Content.ReadLogAsync(ids[t], 0, AllBytes);
            Assert.Equal(
                expected.Select(c => (c.Attempt, c.Stream, Encoding.UTF8.GetString(c.Data.Span))),
                chunks.Select(c => (c.Attempt, c.Stream, Encoding.UTF8.GetString(c.Data.Span))));
        }
    }
}
