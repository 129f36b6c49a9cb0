using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Stevedore.Options;

namespace Stevedore.IntegrationTests.Queue;

/// <summary>
/// A host with one slot, that records which tasks its queue partitions offered to their job grain and were refused:
/// a state the API does not show, which these tests must wait for before they go on.
/// </summary>
public sealed class PriorityServer : StevedoreServer
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Stevedore:Worker:Slots"] = "1" };

    public RefusedSlots Refused { get; } = new();

    protected override void Configure(WebApplicationBuilder builder) =>
        builder.Services.AddSingleton<IIncomingGrainCallFilter>(Refused);

    /// <summary>Tasks whose partition asked their job grain for a run slot and was refused (paused, or at its limit).</summary>
    public sealed class RefusedSlots : IIncomingGrainCallFilter
    {
        private readonly HashSet<string> _refused = new(StringComparer.Ordinal);

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            await context.Invoke();
            if (context.InterfaceMethod.Name == nameof(IJobGrain.TryAcquireAsync) && context.Result is AcquireResult { Outcome: not AcquireOutcome.Acquired })
            {
                lock (_refused)
                {
                    _refused.Add((string)context.Request.GetArgument(0)!);
                }
            }
        }

        /// <summary>
        /// True when, in every partition holding one of <paramref name="ids"/>, one of them was refused: a partition
        /// offers only its best task of a job and sets the others aside with it.
        /// </summary>
        public bool RefusedInEveryPartition(IEnumerable<string> ids, int partitions)
        {
            lock (_refused)
            {
                return ids.GroupBy(id => TaskIds.PartitionOf(id, partitions)).All(g => g.Any(_refused.Contains));
            }
        }
    }
}

/// <summary>Priority holds across the queue's partitions, not only inside each.</summary>
public class PriorityTests(PriorityServer server) : IClassFixture<PriorityServer>
{
    private const int Partitions = QueueOptions.DefaultPartitions;

    [Fact]
    public async Task PausedJobAtMaxConcurrencyOne_Resumed_StartsThePriority2TaskQueuedLast_First()
    {
        var job = Names.Unique("prio-limited");
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" }, maxConcurrency = 1 });
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsync($"/v1/jobs/{job}/pause", null)).StatusCode);

        var low = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            low.Add(await server.EnqueueAsync(job, new { priority = 0 }));
        }

        var high = await EnqueueInAnotherPartitionAsync(job, 2, low);
        // Every task has been offered to the job grain (and refused, paused): the grain has heard of each partition.
        await Wait.UntilAsync(() => server.Refused.RefusedInEveryPartition([.. low, high], Partitions), "every partition to offer its best task to the paused job");

        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsync($"/v1/jobs/{job}/resume", null)).StatusCode);

        await AssertStartsFirstAsync(high, low);
    }

    [Fact]
    public async Task UnlimitedJob_OnAFullNode_StartsAHigherPriorityTaskQueuedLater_BeforeLowerOnesInOtherPartitions()
    {
        var blocker = Names.Unique("prio-blocker");
        await server.PutJobAsync(blocker, new { image = StevedoreServer.Image, command = new[] { "sh", "-c", "echo started; sleep 600" } });
        var running = await server.EnqueueAsync(blocker);
        try
        {
            Assert.Equal("started", await server.FirstLogLineAsync(running)); // the node's only slot is taken

            var job = Names.Unique("prio-unlimited");
            await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "true" } });
            // Fewer than the partitions, so one is always left for the high task (12 covered all 8 in about 1 run in 10).
            var low = new List<string>();
            for (var i = 0; i < Partitions - 1; i++)
            {
                low.Add(await server.EnqueueAsync(job, new { priority = 0 }));
            }

            var high = await EnqueueInAnotherPartitionAsync(job, 2, low);

            Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsync($"/v1/tasks/{running}/cancel", null)).StatusCode);

            await AssertStartsFirstAsync(high, low);
        }
        finally
        {
            // The node has one slot: whatever failed above, the blocker must not keep it from the other tests.
            await server.Http.PostAsync($"/v1/tasks/{running}/cancel", null);
        }
    }

    /// <summary>Enqueues a task at <paramref name="priority"/> whose partition holds none of <paramref name="others"/> (others are cancelled).</summary>
    private async Task<string> EnqueueInAnotherPartitionAsync(string job, int priority, IReadOnlyCollection<string> others)
    {
        var taken = others.Select(id => TaskIds.PartitionOf(id, Partitions)).ToHashSet();
        Assert.True(taken.Count < Partitions, "the other tasks fill every partition");
        for (var i = 0; i < 50; i++)
        {
            var id = await server.EnqueueAsync(job, new { priority });
            if (!taken.Contains(TaskIds.PartitionOf(id, Partitions)))
            {
                return id;
            }

            Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsync($"/v1/tasks/{id}/cancel", null)).StatusCode);
        }

        Assert.Fail("no task landed in a partition of its own in 50 tries");
        return "";
    }

    private async Task AssertStartsFirstAsync(string first, IReadOnlyList<string> others)
    {
        var firstTask = await server.WaitForEndAsync(first);
        Assert.Equal("succeeded", TaskJson.Status(firstTask));
        var started = StartedAt(firstTask);
        foreach (var id in others)
        {
            var task = await server.WaitForEndAsync(id);
            Assert.Equal("succeeded", TaskJson.Status(task));
            Assert.True(StartedAt(task) > started,
                $"priority-{firstTask.GetProperty("priority").GetInt32()} task {first} started at {started:O}, after priority-{task.GetProperty("priority").GetInt32()} task {id} (partition {TaskIds.PartitionOf(id, Partitions)}) at {StartedAt(task):O}");
        }
    }

    private static DateTimeOffset StartedAt(JsonElement task) => task.GetProperty("attempts")[0].GetProperty("startedAt").GetDateTimeOffset();
}
