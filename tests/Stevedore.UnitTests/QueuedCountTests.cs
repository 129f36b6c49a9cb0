using Stevedore.Grains;

namespace Stevedore.UnitTests;

/// <summary>The job grain's count under maxQueued, as a table of steps: (step, argument, seconds since start) → expected.</summary>
public class QueuedCountTests
{
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Runs steps against a count with limit 3 (recount at most once a second, unsettled admissions forgotten after a
    /// minute): "admit n" (counting the store first when asked, the store holding <c>stored</c>), "settle n",
    /// "store n" (what the store would count now), "forget". Returns the admit answers as "+" / "-" and whether each
    /// needed a count ("c").
    /// </summary>
    private static string Run(params (string Step, int N, double At)[] steps)
    {
        var count = new QueuedCount(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        long stored = 0;
        var answers = new List<string>();
        foreach (var (step, n, at) in steps)
        {
            var now = s_start.AddSeconds(at);
            switch (step)
            {
                case "store": stored = n; break;
                case "settle": count.Settle(n); break;
                case "forget": count.Forget(); break;
                case "admit":
                    var counted = count.NeedsCount(n, 3, now);
                    if (counted)
                    {
                        count.Counted(stored, now);
                    }

                    answers.Add((counted ? "c" : "") + (count.Admit(n, 3, now).Admitted ? "+" : "-"));
                    break;
            }
        }

        return string.Join(' ', answers);
    }

    [Theory]
    // The first admission counts the store; then admissions add up without asking it again.
    [InlineData("c+ + + -", "admit 1 0|admit 1 0|admit 1 0|admit 1 0")]
    // All or none: 2 do not fit next to 2, 1 does.
    [InlineData("c+ - +", "admit 2 0|admit 2 0|admit 1 0")]
    // More than the limit never fits, however empty the queue.
    [InlineData("c-", "admit 4 0")]
    // Tasks that started elsewhere are seen at a recount, at most once a second.
    [InlineData("c+ - c+", "admit 3 0|store 0 0|settle 3 0|admit 1 0.5|admit 1 1.5")]
    // Admitted but not yet stored (unsettled) tasks count at a recount: concurrent enqueues cannot pass the limit.
    [InlineData("c+ c-", "admit 3 0|admit 1 2")]
    // ... until the admission is settled: then the store's count is the truth.
    [InlineData("c+ c+", "admit 3 0|store 2 1|settle 3 1|admit 1 2")]
    // An admission never settled (its caller died) is forgotten after a minute.
    [InlineData("c+ c- c+", "admit 3 0|admit 1 30|admit 1 61")]
    // A changed job counts again at its next admission.
    [InlineData("c+ c+", "admit 1 0|store 0 0|forget 0 0|admit 1 0.1")]
    // The store may hold more than the limit (retries come back to the queue without asking): nothing fits then.
    [InlineData("c-", "store 5 0|admit 1 0")]
    public void Admissions(string expected, string steps)
    {
        var parsed = steps.Split('|').Select(s => s.Split(' ')).Select(p => (p[0], int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture), double.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        Assert.Equal(expected, Run(parsed));
    }

    [Fact]
    public void Unlimited_AdmitsEverything_AndForgetsTheCount()
    {
        var count = new QueuedCount(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.False(count.NeedsCount(1000, 0, s_start));
        Assert.True(count.Admit(1000, 0, s_start).Admitted);
        Assert.True(count.NeedsCount(1, 5, s_start));
    }
}
