using Stevedore.Grains;

namespace Stevedore.UnitTests;

public class ReadyQueueTests
{
    private static readonly DateTimeOffset s_now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<QueueEntry> Drain(ReadyQueue queue)
    {
        var taken = new List<QueueEntry>();
        while (queue.TryTake(out var e))
        {
            taken.Add(e);
        }

        return taken;
    }

    [Fact]
    public void TryTake_ReturnsHigherPriorityFirst_ThenOlderFirst()
    {
        var ids = Enumerable.Range(0, 5).Select(i => TaskIds.New(s_now)).ToArray();
        var queue = new ReadyQueue();
        queue.Add(new QueueEntry(ids[0], "j", 0, null), s_now);
        queue.Add(new QueueEntry(ids[1], "j", 2, null), s_now);
        queue.Add(new QueueEntry(ids[2], "j", 1, null), s_now);
        queue.Add(new QueueEntry(ids[3], "j", 2, null), s_now);
        queue.Add(new QueueEntry(ids[4], "j", 0, null), s_now);

        Assert.Equal([ids[1], ids[3], ids[2], ids[0], ids[4]], Drain(queue).Select(e => e.TaskId));
    }

    [Fact]
    public void DelayedEntries_BecomeReadyWhenDue_InDueOrder()
    {
        var queue = new ReadyQueue();
        var late = TaskIds.New(s_now);
        var early = TaskIds.New(s_now);
        Assert.False(queue.Add(new QueueEntry(late, "j", 2, s_now.AddSeconds(20)), s_now));
        Assert.False(queue.Add(new QueueEntry(early, "j", 0, s_now.AddSeconds(10)), s_now));

        Assert.Equal(0, queue.ReadyCount);
        Assert.Equal(s_now.AddSeconds(10), queue.NextDueAt);
        Assert.Equal(0, queue.PromoteDue(s_now.AddSeconds(9)));
        Assert.Equal(1, queue.PromoteDue(s_now.AddSeconds(10)));
        Assert.Equal(early, Drain(queue).Single().TaskId);
        Assert.Equal(s_now.AddSeconds(20), queue.NextDueAt);
        Assert.Equal(1, queue.PromoteDue(s_now.AddSeconds(30)));
        Assert.Null(queue.NextDueAt);
    }

    [Fact]
    public void Block_SetsAsideEveryEntryOfTheJob_UntilUnblocked()
    {
        var queue = new ReadyQueue();
        var a1 = new QueueEntry(TaskIds.New(s_now), "a", 0, null);
        var a2 = new QueueEntry(TaskIds.New(s_now), "a", 0, null);
        var b1 = new QueueEntry(TaskIds.New(s_now), "b", 0, null);
        queue.Add(a1, s_now);
        queue.Add(a2, s_now);
        queue.Add(b1, s_now);

        Assert.True(queue.TryTake(out var first));
        queue.Block(first);
        var a3 = new QueueEntry(TaskIds.New(s_now), "a", 2, null);
        Assert.False(queue.Add(a3, s_now));

        Assert.Equal([b1], Drain(queue));
        Assert.Equal(3, queue.Count);
        Assert.Equal(3, queue.Unblock("a"));
        Assert.Equal([a3, a1, a2], Drain(queue));
        Assert.Equal(0, queue.Unblock("a"));
    }

    [Fact]
    public void Remove_DropsAnEntryWhereverItIs()
    {
        var queue = new ReadyQueue();
        var ready = new QueueEntry(TaskIds.New(s_now), "a", 0, null);
        var delayed = new QueueEntry(TaskIds.New(s_now), "a", 0, s_now.AddHours(1));
        var blocked = new QueueEntry(TaskIds.New(s_now), "b", 0, null);
        queue.Add(ready, s_now);
        queue.Add(delayed, s_now);
        queue.Add(blocked, s_now);
        queue.Block(blocked);

        Assert.True(queue.Remove(ready.TaskId));
        Assert.True(queue.Remove(delayed.TaskId));
        Assert.True(queue.Remove(blocked.TaskId));
        Assert.False(queue.Remove(blocked.TaskId));
        Assert.Equal(0, queue.Count);
        Assert.Null(queue.NextDueAt);
        queue.Unblock("b");
        Assert.Empty(Drain(queue));
    }

    [Fact]
    public void Add_ReplacesAnEntryForTheSameTask()
    {
        var queue = new ReadyQueue();
        var id = TaskIds.New(s_now);
        queue.Add(new QueueEntry(id, "a", 0, s_now.AddHours(1)), s_now);
        Assert.True(queue.Add(new QueueEntry(id, "a", 0, null), s_now));
        Assert.Equal(1, queue.Count);
        Assert.Null(queue.NextDueAt);
    }

    [Fact]
    public void TakeHeadChanges_NamesAnEntryThatOutranksItsJobsSetAsideOnes_Once()
    {
        var queue = new ReadyQueue();
        var old = new QueueEntry(TaskIds.New(s_now), "a", 0, null);
        var refused = new QueueEntry(TaskIds.New(s_now), "a", 1, null);
        var same = new QueueEntry(TaskIds.New(s_now), "a", 1, null);
        var better = new QueueEntry(TaskIds.New(s_now), "a", 2, null);
        var otherJob = new QueueEntry(TaskIds.New(s_now), "b", 2, null);
        queue.Add(refused, s_now);
        Assert.True(queue.TryTake(out var taken));
        queue.Block(taken); // the job grain was told of this one by the refusal itself
        Assert.Empty(queue.TakeHeadChanges());

        queue.Add(same, s_now); // newer at the same priority: behind the head
        queue.Add(otherJob, s_now); // not set aside
        Assert.Empty(queue.TakeHeadChanges());

        queue.Add(better, s_now);
        queue.Add(old with { RunAfter = s_now.AddSeconds(5) }, s_now); // a retry, due later
        Assert.Equal([(better.TaskId, false)], queue.TakeHeadChanges().Select(c => (c.TaskId, c.Withdrawn)));
        Assert.Empty(queue.TakeHeadChanges());

        queue.PromoteDue(s_now.AddSeconds(5)); // due now, but priority 0 is behind priority 2
        Assert.Empty(queue.TakeHeadChanges());
    }

    [Fact]
    public void TakeHeadChanges_LeavesOutAHeadRemovedSince_AndARetryOfAnOlderTaskCounts()
    {
        var queue = new ReadyQueue();
        var older = TaskIds.New(s_now);
        var head = new QueueEntry(TaskIds.New(s_now), "a", 1, null);
        queue.Add(head, s_now);
        Assert.True(queue.TryTake(out var taken));
        queue.Block(taken);

        var better = new QueueEntry(TaskIds.New(s_now), "a", 2, null);
        queue.Add(better, s_now);
        queue.Remove(better.TaskId); // cancelled before the partition reported it
        Assert.Empty(queue.TakeHeadChanges());

        queue.Add(new QueueEntry(older, "a", 1, s_now.AddSeconds(1)), s_now);
        queue.PromoteDue(s_now.AddSeconds(1));
        Assert.Equal([(older, false)], queue.TakeHeadChanges().Select(c => (c.TaskId, c.Withdrawn)));
    }

    public static TheoryData<string, bool, int, string> RemovedHeadCases => new()
    {
        // entries ("priority:n" of job a, "b:priority:n" of job b; n in order of age), of which job a's best is refused
        // a slot and set aside with the others; whether job a was woken since (its entries ready again); the entry
        // removed → what job a's grain is told
        { "2:1", false, 1, "withdraw 1" },           // the head left, nothing of its job follows
        { "2:1 1:2", false, 1, "report 2" },         // the next best follows it
        { "2:1 1:2 1:3", false, 2, "" },             // not the head: nothing to tell
        { "2:1 0:2 0:3", true, 1, "report 2" },      // woken: the next best waits among the ready entries
        { "2:1", true, 1, "withdraw 1" },
        { "2:1 b:2:2", false, 1, "withdraw 1" },     // another job's entries do not follow it
        { "2:1 b:2:2", true, 1, "withdraw 1" },
        { "1:1 1:2", false, 2, "" },
    };

    [Theory]
    [MemberData(nameof(RemovedHeadCases))]
    public void TakeHeadChanges_AHeadRemoved_IsFollowedByTheNextOfItsJob_OrWithdrawn(string entries, bool woken, int removed, string expected)
    {
        var queue = new ReadyQueue();
        var ids = new Dictionary<int, string>();
        foreach (var parts in entries.Split(' ').Select(e => e.Split(':')))
        {
            var n = int.Parse(parts[^1], System.Globalization.CultureInfo.InvariantCulture);
            ids[n] = TaskIds.New(s_now);
            queue.Add(new QueueEntry(ids[n], parts.Length == 3 ? parts[0] : "a", int.Parse(parts[^2], System.Globalization.CultureInfo.InvariantCulture), null), s_now);
        }

        Assert.True(queue.TryTake(out var head));
        Assert.Equal(ids[1], head.TaskId);
        queue.Block(head); // refused: the job grain holds it as this partition's head
        Assert.Empty(queue.TakeHeadChanges());
        if (woken)
        {
            queue.Unblock("a");
        }

        queue.Remove(ids[removed]);

        var told = queue.TakeHeadChanges().Select(c => $"{(c.Withdrawn ? "withdraw" : "report")} {ids.Single(i => i.Value == c.TaskId).Key}");
        Assert.Equal(expected, string.Join(", ", told));
        Assert.Empty(queue.TakeHeadChanges());
    }

    [Fact]
    public void TakeHeadChanges_AHeadTakenForASlot_IsNotWithdrawn_ItsRequestSpeaksForIt()
    {
        var queue = new ReadyQueue();
        var first = new QueueEntry(TaskIds.New(s_now), "a", 2, null);
        var second = new QueueEntry(TaskIds.New(s_now), "a", 1, null);
        queue.Add(first, s_now);
        queue.Add(second, s_now);
        Assert.True(queue.TryTake(out var taken));
        queue.Block(taken);
        queue.Unblock("a");

        Assert.True(queue.TryTake(out taken)); // asked for a slot again, and granted it
        Assert.Equal(first.TaskId, taken.TaskId);
        queue.Remove(second.TaskId); // no longer anyone's head there

        Assert.Empty(queue.TakeHeadChanges());
    }

    [Fact]
    public void BestReadyPriority_IsThatOfTheFirstReadyEntry_IgnoringSetAsideAndDelayedOnes()
    {
        var queue = new ReadyQueue();
        Assert.Equal(0, queue.BestReadyPriority);
        queue.Add(new QueueEntry(TaskIds.New(s_now), "a", 1, null), s_now);
        queue.Add(new QueueEntry(TaskIds.New(s_now), "b", 2, s_now.AddSeconds(1)), s_now);
        Assert.Equal(1, queue.BestReadyPriority);
        queue.Add(new QueueEntry(TaskIds.New(s_now), "c", 2, null), s_now);
        Assert.Equal(2, queue.BestReadyPriority);
        Assert.True(queue.TryTake(out var c));
        queue.Block(c);
        Assert.Equal(1, queue.BestReadyPriority);
    }
}
