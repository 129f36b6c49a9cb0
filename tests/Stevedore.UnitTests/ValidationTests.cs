using System.Text;
using System.Text.Json;
using Stevedore.Application;
using Stevedore.Host.Apis;

namespace Stevedore.UnitTests;

public class ValidationTests
{
    private static (JobSpec? Spec, FieldErrors Errors) Job(string json, string name = "job")
    {
        var errors = new FieldErrors();
        using var doc = JsonDocument.Parse(json);
        var draft = JsonInput.ReadJob(doc.RootElement, errors, name);
        if (errors.Any)
        {
            return (null, errors);
        }

        return (Validation.Job(draft, errors), errors);
    }

    private static FieldErrors Task(string json) => ReadTask(json).Errors;

    private static (TaskDraft Draft, FieldErrors Errors) ReadTask(string json)
    {
        var errors = new FieldErrors();
        using var doc = JsonDocument.Parse(json);
        var draft = JsonInput.ReadTask(doc.RootElement, errors);
        if (!errors.Any)
        {
            Validation.Task(draft, errors);
        }

        return (draft, errors);
    }

    [Fact]
    public void Job_MinimalBody_GetsTheSpecDefaults()
    {
        var (spec, errors) = Job("""{"image":"busybox"}""");

        Assert.False(errors.Any);
        Assert.Equal(new JobSpec { Image = "busybox" }, spec! with { Env = new Dictionary<string, string>() }, new SpecComparer());
        Assert.Equal((3600, 256, 1.0, 0, 0, 10, 2.0, "bridge", 0),
            (spec!.TimeoutSeconds, spec.MemoryMb, spec.Cpus, spec.MaxConcurrency, spec.Retries, spec.RetryDelaySeconds, spec.RetryBackoff, spec.Network, spec.Priority));
    }

    [Fact]
    public void Job_FullBody_IsTakenAsGiven()
    {
        var (spec, errors) = Job("""
            {"image":"127.0.0.1:5000/team/job:v1.2","command":["sh","-c","echo hi"],"env":{"A_B":"1"},"timeoutSeconds":86400,
             "memoryMb":6,"cpus":0.01,"maxConcurrency":3,"retries":20,"retryDelaySeconds":0,"retryBackoff":1,"network":"none","priority":2,"maxQueued":7,
             "name":"job","version":4,"createdAt":"x","updatedAt":"y","paused":true}
            """);

        Assert.False(errors.Any, errors.Any ? errors.Summary() : "");
        Assert.Equal(["sh", "-c", "echo hi"], spec!.Command!);
        Assert.Equal("1", spec.Env["A_B"]);
        Assert.Equal((86400, 6, 0.01, 3, 20, 0, 1.0, "none", 2, 7),
            (spec.TimeoutSeconds, spec.MemoryMb, spec.Cpus, spec.MaxConcurrency, spec.Retries, spec.RetryDelaySeconds, spec.RetryBackoff, spec.Network, spec.Priority, spec.MaxQueued));
    }

    [Theory]
    [InlineData("""{}""", "image")]
    [InlineData("""{"image":""}""", "image")]
    [InlineData("""{"image":"Busybox"}""", "image")]
    [InlineData("""{"image":"busy box"}""", "image")]
    [InlineData("""{"image":"busybox:"}""", "image")]
    [InlineData("""{"image":5}""", "image")]
    [InlineData("""{"image":"busybox","command":"echo hi"}""", "command")]
    [InlineData("""{"image":"busybox","command":["echo",1]}""", "command[1]")]
    [InlineData("""{"image":"busybox","env":["A=1"]}""", "env")]
    [InlineData("""{"image":"busybox","env":{"A":1}}""", "env.A")]
    [InlineData("""{"image":"busybox","env":{"1A":"x"}}""", "env.1A")]
    [InlineData("""{"image":"busybox","env":{"STEVEDORE_TASK_ID":"x"}}""", "env.STEVEDORE_TASK_ID")]
    [InlineData("""{"image":"busybox","timeoutSeconds":0}""", "timeoutSeconds")]
    [InlineData("""{"image":"busybox","timeoutSeconds":86401}""", "timeoutSeconds")]
    [InlineData("""{"image":"busybox","timeoutSeconds":1.5}""", "timeoutSeconds")]
    [InlineData("""{"image":"busybox","timeoutSeconds":"60"}""", "timeoutSeconds")]
    [InlineData("""{"image":"busybox","memoryMb":5}""", "memoryMb")]
    [InlineData("""{"image":"busybox","memoryMb":65537}""", "memoryMb")]
    [InlineData("""{"image":"busybox","cpus":0}""", "cpus")]
    [InlineData("""{"image":"busybox","cpus":64.5}""", "cpus")]
    [InlineData("""{"image":"busybox","cpus":"1"}""", "cpus")]
    [InlineData("""{"image":"busybox","maxConcurrency":-1}""", "maxConcurrency")]
    [InlineData("""{"image":"busybox","retries":21}""", "retries")]
    [InlineData("""{"image":"busybox","retries":-1}""", "retries")]
    [InlineData("""{"image":"busybox","retryDelaySeconds":-1}""", "retryDelaySeconds")]
    [InlineData("""{"image":"busybox","retryBackoff":0.5}""", "retryBackoff")]
    [InlineData("""{"image":"busybox","network":"host"}""", "network")]
    [InlineData("""{"image":"busybox","priority":3}""", "priority")]
    [InlineData("""{"image":"busybox","priority":-1}""", "priority")]
    [InlineData("""{"image":"busybox","timeoutSecond":5}""", "timeoutSecond")]
    [InlineData("""{"image":"busybox","name":"other"}""", "name")]
    [InlineData("""{"image":"busybox","timeoutSeconds":1e300}""", "timeoutSeconds")]
    [InlineData("""{"image":"busybox","retentionDays":0}""", "retentionDays")]
    [InlineData("""{"image":"busybox","retentionDays":3651}""", "retentionDays")]
    [InlineData("""{"image":"busybox","retentionDays":"7"}""", "retentionDays")]
    [InlineData("""{"image":"busybox\n"}""", "image")]
    [InlineData("""{"image":"busybox","env":{"A\n":"1"}}""", "env.A\n")]
    [InlineData("""{"image":"busybox","maxQueued":-1}""", "maxQueued")]
    [InlineData("""{"image":"busybox","maxQueued":10000001}""", "maxQueued")]
    [InlineData("""{"image":"busybox","maxQueued":"5"}""", "maxQueued")]
    public void Job_InvalidField_IsNamedInTheErrors(string json, string field)
    {
        var (spec, errors) = Job(json);

        Assert.Null(spec);
        Assert.True(errors.Has(field), $"expected an error on '{field}', got: {string.Join("; ", errors.ToDictionary().Keys)}");
    }

    [Theory]
    [InlineData("""{"image":"busybox"}""", null)]
    [InlineData("""{"image":"busybox","retentionDays":1}""", 1)]
    [InlineData("""{"image":"busybox","retentionDays":3650}""", 3650)]
    [InlineData("""{"image":"busybox","retentionDays":null}""", null)]
    public void Job_RetentionDays_IsKept_OrLeftToTheDefault(string json, int? expected)
    {
        var (spec, errors) = Job(json);

        Assert.False(errors.Any, errors.Any ? errors.Summary() : null);
        Assert.Equal(expected, spec!.RetentionDays);
    }

    [Fact]
    public void JobSpec_SameAs_SeesARetentionChange()
    {
        var spec = new JobSpec { Image = "busybox" };

        Assert.False(spec.SameAs(spec with { RetentionDays = 3 }));
        Assert.True((spec with { RetentionDays = 3 }).SameAs(spec with { RetentionDays = 3 }));
    }

    [Theory]
    [InlineData("UPPER")]
    [InlineData("-leading")]
    [InlineData("has space")]
    [InlineData("")]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234")]
    [InlineData("x\n")]
    [InlineData("x\r\n")]
    public void JobName_Invalid_IsRefused(string name) => Assert.NotNull(Validation.CheckJobName(name));

    [Theory]
    [InlineData("a")]
    [InlineData("0.job_name-x")]
    [InlineData("a23456789012345678901234567890123456789012345678901234567890123")]
    public void JobName_Valid_IsAccepted(string name) => Assert.Null(Validation.CheckJobName(name));

    [Theory]
    [InlineData("busybox")]
    [InlineData("busybox:1.36")]
    [InlineData("library/busybox:latest")]
    [InlineData("localhost:5000/team/job")]
    [InlineData("registry.example.com/a/b/c:tag_1.0-x")]
    [InlineData("busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void Job_ValidImageReferences_AreAccepted(string image)
    {
        var (spec, errors) = Job($$"""{"image":"{{image}}"}""");
        Assert.False(errors.Any, errors.Any ? errors.Summary() : "");
        Assert.Equal(image, spec!.Image);
    }

    [Fact]
    public void Task_ValidBody_HasNoErrors()
    {
        var (draft, errors) = ReadTask("""{"payload":{"a":[1,2]},"priority":2,"delaySeconds":604800,"timeoutSeconds":1,"idempotencyKey":"k-1","labels":{"customer":"acme","a/b.c":"x"}}""");

        Assert.False(errors.Any, errors.Any ? errors.Summary() : "");
        Assert.Equal("""{"a":[1,2]}""", Encoding.UTF8.GetString(draft.Payload.Span));
        Assert.Equal((2L, 604800L, 1L, "k-1"), (draft.Priority, draft.DelaySeconds, draft.TimeoutSeconds, draft.IdempotencyKey));
        Assert.Equal(new Dictionary<string, string> { ["customer"] = "acme", ["a/b.c"] = "x" }, draft.Labels);
    }

    [Theory]
    [InlineData("""{"priority":3}""", "priority")]
    [InlineData("""{"priority":"high"}""", "priority")]
    [InlineData("""{"delaySeconds":-1}""", "delaySeconds")]
    [InlineData("""{"delaySeconds":604801}""", "delaySeconds")]
    [InlineData("""{"timeoutSeconds":0}""", "timeoutSeconds")]
    [InlineData("""{"idempotencyKey":""}""", "idempotencyKey")]
    [InlineData("""{"idempotencyKey":7}""", "idempotencyKey")]
    [InlineData("""{"labels":{"k":1}}""", "labels.k")]
    [InlineData("""{"labels":{"bad key":"v"}}""", "labels.bad key")]
    [InlineData("""{"labels":{"k:v":"v"}}""", "labels.k:v")]
    [InlineData("""{"labels":{"k\n":"v"}}""", "labels.k\n")]
    [InlineData("""{"labels":"k=v"}""", "labels")]
    [InlineData("""{"payload":1,"extra":true}""", "extra")]
    public void Task_InvalidField_IsNamedInTheErrors(string json, string field)
    {
        var errors = Task(json);
        Assert.True(errors.Has(field), $"expected an error on '{field}', got: {string.Join("; ", errors.ToDictionary().Keys)}");
    }

    [Theory]
    [InlineData("\"héllo\"", "héllo")]
    [InlineData("{\"a\":1}", "{\"a\":1}")]
    [InlineData("[1, 2]", "[1, 2]")]
    [InlineData("42", "42")]
    public void Task_Payload_StringIsRawText_OtherJsonIsItsText(string payloadJson, string expected)
    {
        var errors = new FieldErrors();
        using var doc = JsonDocument.Parse($$"""{"payload":{{payloadJson}}}""");
        var draft = JsonInput.ReadTask(doc.RootElement, errors);
        Assert.Equal(expected, Encoding.UTF8.GetString(draft.Payload.Span));
    }

    [Theory]
    [InlineData(null, null, null, null, null, true)]
    [InlineData("job-1", "timed_out", "k:v", "1000", null, true)]
    [InlineData("Bad Name", null, null, null, null, false)]
    [InlineData(null, "done", null, null, null, false)]
    [InlineData(null, null, "novalue", null, null, false)]
    [InlineData(null, null, "k\n:v", null, null, false)]
    [InlineData(null, null, "k:\u0000", null, null, false)]
    [InlineData("job\n", null, null, null, null, false)]
    [InlineData(null, null, null, "0", null, false)]
    [InlineData(null, null, null, "1001", null, false)]
    [InlineData(null, null, null, "ten", null, false)]
    [InlineData(null, null, null, null, "not-a-cursor", false)]
    public void TaskList_QueryIsChecked(string? job, string? status, string? label, string? limit, string? cursor, bool valid)
    {
        var errors = new FieldErrors();
        var query = Validation.TaskList(new TaskListDraft { Job = job, Status = status, Label = label, Limit = limit, Cursor = cursor }, errors);
        Assert.Equal(valid, query is not null);
        Assert.Equal(!valid, errors.Any);
        if (query is not null)
        {
            Assert.Equal(job, query.Job);
            Assert.Equal(status, query.Status?.ToWire());
            Assert.Equal(label, query.Label is { } l ? $"{l.Key}:{l.Value}" : null);
            Assert.Equal(limit is null ? 50 : int.Parse(limit, System.Globalization.CultureInfo.InvariantCulture), query.Limit);
        }
    }

    private sealed class SpecComparer : IEqualityComparer<JobSpec>
    {
        public bool Equals(JobSpec? x, JobSpec? y) => x is not null && y is not null && x.SameAs(y);
        public int GetHashCode(JobSpec obj) => obj.Image.GetHashCode(StringComparison.Ordinal);
    }
}
