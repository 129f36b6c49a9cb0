using Stevedore.Execution.Worker;

namespace Stevedore.UnitTests;

public class DispatchOrderTests
{
    public static TheoryData<string, string, int, int> Cases => new()
    {
        // best ready priority per partition ("-" nothing pending), skipped partitions, start → partition leased from
        { "- - - -", "", 0, -1 },
        { "0 - - -", "", 0, 0 },
        { "0 0 0 0", "", 2, 2 },           // equals take turns from the start
        { "0 0 0 0", "", 3, 3 },
        { "0 - 2 0", "", 3, 2 },           // the best task first, wherever it is
        { "1 - 2 2", "", 0, 2 },
        { "1 - 2 2", "", 3, 3 },
        { "1 - 2 2", "2 3", 0, 0 },        // failed or empty this round: skipped
        { "- - 2 -", "2", 0, -1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Pick_LeasesFromThePartitionWithTheBestReadyTask(string pending, string skipped, int start, int expected)
    {
        var levels = pending.Split(' ').Select(p => p == "-" ? 0 : DispatchOrder.Level(int.Parse(p, System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        var skip = new bool[levels.Length];
        foreach (var s in skipped.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            skip[int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)] = true;
        }

        Assert.Equal(expected, DispatchOrder.Pick(levels, skip, start));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Level_AndPriority_RoundTrip_AndNothingPendingIsBelowEveryLevel(int priority)
    {
        Assert.Equal(priority, DispatchOrder.Priority(DispatchOrder.Level(priority)));
        Assert.True(DispatchOrder.Level(priority) > 0);
    }
}
