using Stevedore.Grains;

namespace Stevedore.UnitTests;

public class WaitingHeadsTests
{
    private static readonly DateTimeOffset s_now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_window = TimeSpan.FromSeconds(2);

    // Task ids sort by creation: t1 is the oldest.
    private static string Id(int n) => $"t{n}";

    public static TheoryData<string, string, int, string> Cases => new()
    {
        // heads known ("partition:priority:task"), request ("partition:priority:task"), free slots → granted, or the partitions woken
        { "", "0:0:1", 1, "granted" },
        { "1:0:2", "0:0:1", 1, "granted" },          // the request is the oldest of equals
        { "1:2:2", "0:0:1", 1, "wake 1" },           // a higher priority elsewhere takes the slot
        { "1:0:1", "0:0:2", 1, "wake 1" },           // an older task of equal priority elsewhere goes first
        { "1:2:2", "0:0:1", 2, "granted" },          // two free: one for the better head, one for the request
        { "1:2:2 2:1:3", "0:0:1", 2, "wake 1 2" },   // two better heads for two slots
        { "1:2:2 2:1:3", "0:1:1", 2, "granted" },    // priority 1 and older than partition 2's
        { "0:2:9", "0:0:1", 1, "granted" },          // a partition's own older report is replaced by its request
        { "1:0:5 2:0:6", "0:2:7", 1, "granted" },    // the best of all
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_GrantsAFreeSlotToTheBestHeadAcrossPartitions(string heads, string request, int free, string expected)
    {
        var waiting = new WaitingHeads(s_window);
        foreach (var head in heads.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var (p, priority, task) = Parse(head);
            waiting.Report(p, task, priority);
        }

        var (rp, rpriority, rtask) = Parse(request);
        var wake = waiting.Decide(rp, rtask, rpriority, free, s_now);

        Assert.Equal(expected, wake is null ? "granted" : "wake " + string.Join(' ', wake.Order()));
        if (wake is null)
        {
            Assert.False(waiting.Heads.ContainsKey(rp)); // it reports its next head when refused
        }
        else
        {
            Assert.Equal(rtask, waiting.Heads[rp].TaskId);
        }
    }

    [Fact]
    public void AnOfferIsMadeOnce_AndLapsesAfterTheClaimWindow_SoTheSlotGoesToTheNextBest()
    {
        var waiting = new WaitingHeads(s_window);
        waiting.Report(1, Id(1), 2); // partition 1's head is cancelled: it will never claim
        Assert.Equal([1], waiting.Decide(0, Id(2), 0, 1, s_now)!);
        Assert.Equal(s_now + s_window, waiting.NextLapse);

        // Asked again within the window: still kept for partition 1, which is not woken twice.
        Assert.Empty(waiting.Decide(0, Id(2), 0, 1, s_now.AddSeconds(1))!);
        Assert.False(waiting.DropLapsed(s_now.AddSeconds(1)));

        Assert.True(waiting.DropLapsed(s_now + s_window));
        Assert.Null(waiting.NextLapse);
        Assert.Null(waiting.Decide(0, Id(2), 0, 1, s_now + s_window));
    }

    [Fact]
    public void ClaimedByTheWokenPartition_WithItsHead()
    {
        var waiting = new WaitingHeads(s_window);
        waiting.Report(0, Id(2), 0);
        waiting.Report(1, Id(1), 2);
        Assert.Equal([1], waiting.Decide(0, Id(2), 0, 1, s_now)!);

        Assert.Null(waiting.Decide(1, Id(1), 2, 1, s_now.AddMilliseconds(10)));
        Assert.Equal([0], waiting.Heads.Keys);
        Assert.Null(waiting.NextLapse);
    }

    [Fact]
    public void AWokenPartitionComingBackWithAWorseHead_IsRankedAgain()
    {
        var waiting = new WaitingHeads(s_window);
        waiting.Report(0, Id(3), 1);
        waiting.Report(1, Id(1), 2);
        Assert.Equal([1], waiting.Decide(0, Id(3), 1, 1, s_now)!);

        // Partition 1's priority-2 task was cancelled; it asks with a priority-0 task: partition 0's head goes first.
        Assert.Equal([0], waiting.Decide(1, Id(4), 0, 1, s_now)!);
        Assert.Null(waiting.Decide(0, Id(3), 1, 1, s_now));
    }

    [Fact]
    public void Report_OfTheSameHead_KeepsItsOffer()
    {
        var waiting = new WaitingHeads(s_window);
        waiting.Report(1, Id(1), 2);
        waiting.Decide(0, Id(2), 0, 1, s_now);
        waiting.Report(1, Id(1), 2);
        Assert.Equal(s_now, waiting.Heads[1].OfferedAt);

        Assert.True(waiting.Report(1, Id(0), 2)); // a better one arrived there: it is ranked again
        Assert.Null(waiting.Heads[1].OfferedAt);
    }

    public static TheoryData<string, string, string, string, bool> ChangeCases => new()
    {
        // heads known ("partition:priority:task"; "*": a slot is kept for it, it was woken to claim it), what its
        // partition tells ("withdraw partition:task", or "report partition:priority:task") → the heads left, and whether
        // the partitions waiting for a slot ask again
        { "1:2:1", "withdraw", "1:0:1", "", false },                // it held no slot: nobody waits for it
        { "1:2:1*", "withdraw", "1:0:1", "", true },                // the kept slot is open again
        { "1:2:1*", "withdraw", "1:0:2", "1:1", false },            // an older head's withdrawal leaves the newer one
        { "1:2:1* 2:1:2*", "withdraw", "2:0:2", "1:1", true },
        { "1:2:1", "withdraw", "2:0:1", "1:1", false },             // another partition names no head of its own
        { "1:2:1*", "report", "1:1:3", "1:3", true },               // the next best follows it: ranked again
        { "1:2:1", "report", "1:1:3", "1:3", false },
        { "1:2:1*", "report", "1:2:1", "1:1", false },              // the same head: its offer stands
        { "", "report", "1:1:3", "1:3", false },
    };

    [Theory]
    [MemberData(nameof(ChangeCases))]
    public void AHeadThatLeavesItsPartition_IsWithdrawnOrReplaced_AndAKeptSlotIsOpenedAgain(string heads, string told, string head, string left, bool askAgain)
    {
        var waiting = new WaitingHeads(s_window);
        var kept = 0;
        foreach (var known in heads.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var (p, priority, task) = Parse(known.TrimEnd('*'));
            waiting.Report(p, task, priority);
            kept += known.EndsWith('*') ? 1 : 0;
        }

        if (kept > 0)
        {
            // A worse request from partition 9 with that many free slots: the best heads are woken to claim them.
            Assert.Equal(kept, waiting.Decide(9, Id(99), -1, kept, s_now)!.Count);
        }

        var (hp, hpriority, htask) = Parse(head);
        var opened = told == "withdraw" ? waiting.Withdraw(hp, htask) : waiting.Report(hp, htask, hpriority);

        Assert.Equal(left, string.Join(' ', waiting.Heads.Where(h => h.Key != 9).OrderBy(h => h.Key).Select(h => $"{h.Key}:{h.Value.TaskId[1..]}")));
        Assert.Equal(askAgain, opened);
    }

    private static (int Partition, int Priority, string Task) Parse(string text)
    {
        var parts = text.Split(':');
        return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
            Id(int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture)));
    }
}
