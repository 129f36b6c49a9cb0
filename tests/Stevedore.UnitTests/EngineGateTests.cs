using Stevedore.Execution.Worker;

namespace Stevedore.UnitTests;

public class EngineGateTests
{
    // Steps: "ok" / "down" = a health check that answered or not, "lost" = an attempt lost the engine,
    // "swept" / "sweep failed" = the sweep's end.
    public static TheoryData<string, string, bool> Cases => new()
    {
        // steps → actions, one per step; leasing at the end
        { "ok ok", "None None", true },
        { "down", "StopLeasing", false },
        { "down down", "StopLeasing None", false },
        { "down ok", "StopLeasing Sweep", false },
        { "down ok swept", "StopLeasing Sweep ResumeLeasing", true },
        { "down ok swept ok", "StopLeasing Sweep ResumeLeasing None", true },
        { "down ok sweep-failed", "StopLeasing Sweep None", false },
        { "down ok sweep-failed ok swept", "StopLeasing Sweep None Sweep ResumeLeasing", true },
        { "lost", "StopLeasing", false },
        { "lost ok swept", "StopLeasing Sweep ResumeLeasing", true }, // back at once: the lost attempt's container is still swept
        { "lost lost down", "StopLeasing None None", false },
        { "down lost ok swept", "StopLeasing None Sweep ResumeLeasing", true },
        { "down ok lost swept", "StopLeasing Sweep None None", false }, // lost during the sweep: sweep again
        { "down ok lost swept ok swept", "StopLeasing Sweep None None Sweep ResumeLeasing", true },
        { "swept", "None", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Steps_LeaseOnlyWhileTheEngineAnswers_AndAlwaysSweepOnTheWayBack(string steps, string actions, bool leasing)
    {
        var gate = new EngineGate();
        var done = steps.Split(' ').Select(step => step switch
        {
            "ok" => gate.Checked(true),
            "down" => gate.Checked(false),
            "lost" => gate.AttemptLostEngine(),
            "swept" => gate.Swept(true),
            "sweep-failed" => gate.Swept(false),
            _ => throw new ArgumentOutOfRangeException(nameof(steps), step, null),
        }).ToList();

        Assert.Equal(actions, string.Join(' ', done));
        Assert.Equal(leasing, gate.Leasing);
    }
}
