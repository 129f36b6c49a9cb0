namespace Stevedore.UnitTests;

public class TaskIdsTests
{
    [Fact]
    public void New_IdsSortByCreation_EvenWithinOneMillisecond()
    {
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 1000).Select(_ => TaskIds.New(now)).ToList();

        Assert.Equal(ids, ids.OrderBy(i => i, StringComparer.Ordinal));
        Assert.All(ids, id => Assert.True(TaskIds.IsValid(id)));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void PartitionOf_SpreadsIdsOverAllPartitions()
    {
        var counts = new int[8];
        for (var i = 0; i < 8000; i++)
        {
            counts[TaskIds.PartitionOf(TaskIds.New(DateTimeOffset.UtcNow), 8)]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
    }

    [Theory]
    [InlineData("")]
    [InlineData("xyz")]
    [InlineData("01A21B4E1533000014DD00E816D75451")]
    [InlineData("01a21b4e1533000014dd00e816d7545")]
    public void IsValid_RejectsWhatIsNotAnId(string id) => Assert.False(TaskIds.IsValid(id));
}
