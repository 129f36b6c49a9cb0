using System.Text.Json;
using Stevedore.Application;
using Stevedore.Host.Apis;

namespace Stevedore.UnitTests;

/// <summary>The job fields that harden its container, from JSON to the stored spec.</summary>
public class HardeningValidationTests
{
    private static (JobSpec? Spec, FieldErrors Errors) Job(string fields)
    {
        var errors = new FieldErrors();
        using var doc = JsonDocument.Parse($$"""{"image":"busybox"{{fields}}}""");
        var draft = JsonInput.ReadJob(doc.RootElement, errors, "job");
        return (errors.Any ? null : Validation.Job(draft, errors), errors);
    }

    [Fact]
    public void Defaults_KeepNoCapability_TheImagesUser_AndAWritableRoot()
    {
        var (spec, _) = Job("");

        Assert.Empty(spec!.Capabilities);
        Assert.Null(spec.User);
        Assert.False(spec.ReadOnlyRootFilesystem);
    }

    [Fact]
    public void Capabilities_AreStoredUpperCase_WithoutPrefix_SortedAndOnce()
    {
        var (spec, errors) = Job(""","capabilities":["setuid","CAP_CHOWN","CHOWN","Kill"]""");

        Assert.False(errors.Any, errors.Any ? errors.Summary() : "");
        Assert.Equal(["CHOWN", "KILL", "SETUID"], spec!.Capabilities);
    }

    [Fact]
    public void EveryAllowedCapability_IsAccepted()
    {
        var (spec, errors) = Job($$""","capabilities":{{JsonSerializer.Serialize(Validation.AllowedCapabilities)}}""");

        Assert.False(errors.Any, errors.Any ? errors.Summary() : "");
        Assert.Equal(Validation.AllowedCapabilities.Order(StringComparer.Ordinal), spec!.Capabilities);
    }

    [Theory]
    [InlineData(""","capabilities":["SYS_ADMIN"]""", "capabilities[0]")]
    [InlineData(""","capabilities":["CHOWN","NET_RAW"]""", "capabilities[1]")]
    [InlineData(""","capabilities":["ALL"]""", "capabilities[0]")]
    [InlineData(""","capabilities":["MKNOD"]""", "capabilities[0]")]
    [InlineData(""","capabilities":["CAP_SYS_PTRACE"]""", "capabilities[0]")]
    [InlineData(""","capabilities":[""]""", "capabilities[0]")]
    [InlineData(""","capabilities":"CHOWN" """, "capabilities")]
    [InlineData(""","capabilities":[1]""", "capabilities[0]")]
    [InlineData(",\"user\":\"\"", "user")]
    [InlineData(""","user":"a b" """, "user")]
    [InlineData(""","user":"1000:" """, "user")]
    [InlineData(""","user":"1000:1000:1000" """, "user")]
    [InlineData(""","user":"4294967296" """, "user")]
    [InlineData(""","user":"-1" """, "user")]
    [InlineData(""","user":1000""", "user")]
    [InlineData(""","readOnlyRootFilesystem":"true" """, "readOnlyRootFilesystem")]
    [InlineData(""","readOnlyRootFilesystem":1""", "readOnlyRootFilesystem")]
    public void BadHardeningFields_AreRefused_NamingTheField(string fields, string field)
    {
        var (spec, errors) = Job(fields);

        Assert.Null(spec);
        Assert.True(errors.Has(field), $"no error on '{field}': {errors.Summary()}");
    }

    [Theory]
    [InlineData("1000")]
    [InlineData("1000:1000")]
    [InlineData("0")]
    [InlineData("nobody")]
    [InlineData("app-user:staff")]
    [InlineData("2147483647:2147483647")]
    public void Users_AreTakenAsGiven(string user)
    {
        var (spec, errors) = Job($$""","user":"{{user}}","readOnlyRootFilesystem":true""");

        Assert.False(errors.Any, errors.Any ? errors.Summary() : "");
        Assert.Equal(user, spec!.User);
        Assert.True(spec.ReadOnlyRootFilesystem);
    }

    [Fact]
    public void ChangingAHardeningField_MakesANewVersion()
    {
        var spec = new JobSpec { Image = "busybox" };

        Assert.True(spec.SameAs(spec with { Capabilities = [] }));
        Assert.False(spec.SameAs(spec with { Capabilities = ["CHOWN"] }));
        Assert.False(spec.SameAs(spec with { User = "1000" }));
        Assert.False(spec.SameAs(spec with { ReadOnlyRootFilesystem = true }));
    }
}
