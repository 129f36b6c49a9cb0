using Stevedore.Grains;

namespace Stevedore.UnitTests;

public class RetryPolicyTests
{
    [Theory]
    [InlineData(10, 2, 1, 10)]
    [InlineData(10, 2, 2, 20)]
    [InlineData(10, 2, 3, 40)]
    [InlineData(5, 1, 7, 5)]
    [InlineData(0, 3, 4, 0)]
    [InlineData(3, 1.5, 3, 6.75)]
    public void DelayAfter_IsDelayTimesBackoffToTheAttemptMinusOne(int delay, double backoff, int attempt, double expectedSeconds)
    {
        var spec = new JobSpec { Image = "i", RetryDelaySeconds = delay, RetryBackoff = backoff };
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), RetryPolicy.DelayAfter(spec, attempt));
    }

    [Fact]
    public void DelayAfter_IsCappedAtADay()
    {
        var spec = new JobSpec { Image = "i", RetryDelaySeconds = 86_400, RetryBackoff = 100 };
        Assert.Equal(RetryPolicy.MaxDelay, RetryPolicy.DelayAfter(spec, 21));
    }
}
