using Stevedore.Execution.Worker;

namespace Stevedore.UnitTests;

public class ReapGateTests
{
    private static readonly DateTimeOffset s_start = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan s_lease = TimeSpan.FromSeconds(6);

    /// <summary>
    /// Rounds of a lease keeper, as "+seconds:ok" (the round reached the store) or "+seconds:fail"; the expected
    /// answer of the last round.
    /// </summary>
    [Theory]
    [InlineData("2:ok", true)] // no outage: reaps from the start
    [InlineData("2:fail 4:ok", false)] // back for no time at all
    [InlineData("2:fail 4:ok 8:ok", false)] // back for 4 s, lease 6 s
    [InlineData("2:fail 4:ok 10:ok", true)] // back for a whole lease
    // The store was away from 2 s to 9 s; this node's rounds in between did not reach it (it had nothing to renew and
    // was holding off). Counted from the failure the hold ended at 8 s, before the owners could renew; counted from
    // the first success it ends at 16 s.
    [InlineData("2:fail 10:ok", false)]
    [InlineData("2:fail 10:ok 14:ok", false)]
    [InlineData("2:fail 10:ok 16:ok", true)]
    [InlineData("2:fail 4:fail 6:fail 8:ok 14:ok", true)]
    [InlineData("2:fail 4:ok 6:fail 8:ok 12:ok", false)] // a second outage starts the count again
    public void Reaps_OnlyOnceTheStoreHasBeenBackForALease(string rounds, bool reaps)
    {
        var gate = new ReapGate(s_lease, s_start);
        var last = false;
        foreach (var round in rounds.Split(' '))
        {
            var (at, outcome) = (round.Split(':')[0], round.Split(':')[1]);
            var now = s_start.AddSeconds(int.Parse(at, System.Globalization.CultureInfo.InvariantCulture));
            if (outcome == "ok")
            {
                last = gate.StoreReached(now);
            }
            else
            {
                gate.StoreFailed();
                last = false;
            }
        }

        Assert.Equal(reaps, last);
    }
}
