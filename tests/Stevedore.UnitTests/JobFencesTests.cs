using Stevedore.Grains;

namespace Stevedore.UnitTests;

public class JobFencesTests
{
    private static readonly DateTimeOffset s_created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static JobInfo Job(long version, bool paused = false, int createdLater = 0) => new()
    {
        Name = "j", Spec = new JobSpec { Image = "img" }, Version = version, Paused = paused, CreatedAt = s_created.AddDays(createdLater),
    };

    public static TheoryData<string, JobInfo?, JobInfo, bool> Cases => new()
    {
        { "unchanged", Job(2), Job(2), true },
        { "leased after a change the fence has not brought yet", Job(2), Job(3), true },
        { "changed by a PUT after the lease", Job(3), Job(2), false },
        { "paused after the lease", Job(2, paused: true), Job(2), false },
        { "resumed", Job(2, paused: false), Job(2), true },
        { "deleted after the lease", null, Job(2), false },
        { "deleted and created again after the lease", Job(1, createdLater: 1), Job(5), false },
        { "leased from the new incarnation before its fence", Job(5), Job(1, createdLater: 1), true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Admits_OnlyLeasesOfTheCurrentDefinition(string why, JobInfo? current, JobInfo leasedWith, bool admitted) =>
        Assert.True(JobFences.Admits(current, leasedWith) == admitted, why);

    [Fact]
    public void Fence_ReturnsTheJobsAdmittedStartsNotYetRecorded()
    {
        var fences = new JobFences();
        fences.Learn("j", Job(1));
        fences.Learn("other", Job(1) with { Name = "other" });
        Assert.True(fences.Admit("t1", Job(1), s_created));
        Assert.True(fences.Admit("t2", Job(1), s_created));
        Assert.True(fences.Admit("t3", Job(1) with { Name = "other" }, s_created));
        fences.Recorded("t2");

        Assert.Equal(["t1"], fences.Fence("j", Job(2)));
        Assert.False(fences.Admit("t4", Job(1), s_created));
        Assert.True(fences.Admit("t4", Job(2), s_created));
    }

    [Fact]
    public void Learn_NeverOverridesAFence()
    {
        var fences = new JobFences();
        Assert.False(fences.Knows("j"));
        fences.Fence("j", Job(2, paused: true));
        fences.Learn("j", Job(2));

        Assert.False(fences.Admit("t", Job(2), s_created));
    }

    [Fact]
    public void ADeletedJob_IsForgotten_AndRefusesItsOldLeases()
    {
        var fences = new JobFences();
        fences.Learn("j", Job(1));
        Assert.True(fences.Admit("t1", Job(1), s_created));

        Assert.Equal(["t1"], fences.Fence("j", null));

        Assert.False(fences.Knows("j"));
        Assert.False(fences.Admit("t2", Job(1), s_created));
        fences.Learn("j", null);
        Assert.False(fences.Knows("j"));
        Assert.False(fences.Admit("t2", Job(1), s_created));
    }

    [Fact]
    public void ForgetAdmittedBefore_DropsStartsWhoseGrainDied()
    {
        var fences = new JobFences();
        fences.Learn("j", Job(1));
        fences.Admit("old", Job(1), s_created);
        fences.Admit("new", Job(1), s_created.AddSeconds(20));

        fences.ForgetAdmittedBefore(s_created.AddSeconds(10));

        Assert.Equal(["new"], fences.Fence("j", Job(2)));
    }
}
