using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Docker.DotNet.Models;

namespace Stevedore.IntegrationTests.Security;

/// <summary>
/// What a job container may do, seen from inside real containers: no Linux capability unless the job lists some from
/// the allow-list, the job's user, a read-only root with a writable /tmp, and no Docker log of its own.
/// </summary>
[Collection(ServerCollection.Name)]
public class ContainerHardeningTests(StevedoreServer server)
{
    private static Dictionary<string, object?> Sh(string script, object? extra = null)
    {
        var body = new Dictionary<string, object?> { ["image"] = StevedoreServer.Image, ["command"] = new[] { "sh", "-c", script } };
        foreach (var p in extra?.GetType().GetProperties() ?? [])
        {
            body[p.Name] = p.GetValue(extra);
        }

        return body;
    }

    private async Task<(JsonElement Task, string Log)> RunAsync(Dictionary<string, object?> job)
    {
        var name = Names.Unique("harden");
        await server.PutJobAsync(name, job);
        var id = await server.EnqueueAsync(name);
        var task = await server.WaitForEndAsync(id);
        await Containers.GoneAsync(id);
        return (task, await server.Http.GetStringAsync($"/v1/tasks/{id}/log"));
    }

    [Fact]
    public async Task ByDefault_EveryCapabilityIsDropped()
    {
        var (task, log) = await RunAsync(Sh("grep -E 'Cap(Eff|Prm|Bnd)' /proc/self/status; touch /tmp/f; chown 1 /tmp/f && echo chowned; exit 0"));

        TaskFileServer.AssertStatus("succeeded", task);
        Assert.Contains("CapEff:\t0000000000000000", log);
        Assert.Contains("CapPrm:\t0000000000000000", log);
        Assert.Contains("CapBnd:\t0000000000000000", log);
        Assert.DoesNotContain("chowned", log);
    }

    [Fact]
    public async Task AListedCapability_IsPresent_AndOnlyIt()
    {
        var (task, log) = await RunAsync(Sh("grep CapEff /proc/self/status; touch /tmp/f; chown 1 /tmp/f && echo chowned", new { capabilities = new[] { "CHOWN" } }));

        TaskFileServer.AssertStatus("succeeded", task);
        Assert.Contains("CapEff:\t0000000000000001", log); // CAP_CHOWN is bit 0
        Assert.Contains("chowned", log);
    }

    [Fact]
    public async Task ACapabilityOutsideTheAllowList_IsRefused_NamingTheField()
    {
        var response = await server.Http.PutAsync($"/v1/jobs/{Names.Unique("caps")}",
            new StringContent($$"""{"image":"{{StevedoreServer.Image}}","capabilities":["CHOWN","SYS_ADMIN"]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("capabilities[1]", out var error), problem.ToString());
        Assert.Contains("SYS_ADMIN", error.ToString());
    }

    [Fact]
    public async Task User_IsApplied_AndTheResultFileStillWorks()
    {
        var name = Names.Unique("user");
        var job = await server.PutJobAsync(name, Sh("echo \"uid=$(id -u) gid=$(id -g)\"; echo done > $STEVEDORE_RESULT_FILE", new { user = "1000:1000" }));
        Assert.Equal("1000:1000", job.GetProperty("user").GetString());
        var id = await server.EnqueueAsync(name);

        var task = await server.WaitForEndAsync(id);

        TaskFileServer.AssertStatus("succeeded", task);
        Assert.Contains("uid=1000 gid=1000", await server.Http.GetStringAsync($"/v1/tasks/{id}/log"));
        Assert.Equal("done\n", await server.Http.GetStringAsync($"/v1/tasks/{id}/result"));
    }

    [Fact]
    public async Task ReadOnlyRoot_RefusesWrites_WhileTmpAndTheResultFileWork()
    {
        var name = Names.Unique("readonly");
        var job = await server.PutJobAsync(name, Sh(
            "touch /etc/x 2>/dev/null && echo root-writable; echo t > /tmp/t && cat /tmp/t; grep ' /tmp ' /proc/mounts; cat $STEVEDORE_PAYLOAD_FILE > $STEVEDORE_RESULT_FILE",
            new { readOnlyRootFilesystem = true }));
        Assert.True(job.GetProperty("readOnlyRootFilesystem").GetBoolean());
        var id = await server.EnqueueAsync(name, new { payload = "p" });

        var task = await server.WaitForEndAsync(id);

        TaskFileServer.AssertStatus("succeeded", task);
        var log = await server.Http.GetStringAsync($"/v1/tasks/{id}/log");
        Assert.DoesNotContain("root-writable", log);
        Assert.Contains("t\n", log);
        Assert.Matches(@"tmpfs /tmp tmpfs rw,nosuid,nodev,.*size=65536k", log);
        Assert.Equal("p", await server.Http.GetStringAsync($"/v1/tasks/{id}/result"));
    }

    [Fact]
    public async Task DockersOwnLog_IsOff_WhileTheTaskLogIsCaptured()
    {
        var name = Names.Unique("nolog");
        await server.PutJobAsync(name, Sh("echo up; sleep 60"));
        var id = await server.EnqueueAsync(name);
        Assert.Equal("up", await server.FirstLogLineAsync(id));

        ContainerInspectResponse inspect;
        try
        {
            inspect = await server.Docker.Containers.InspectContainerAsync(Assert.Single(await server.ContainersOfAsync(id)).ID);
        }
        finally
        {
            await server.Http.PostAsync($"/v1/tasks/{id}/cancel", null);
        }

        Assert.Equal("none", inspect.HostConfig.LogConfig.Type);
        Assert.Equal(["ALL"], inspect.HostConfig.CapDrop);
        Assert.Equal("up\n", await server.Http.GetStringAsync($"/v1/tasks/{id}/log"));
    }
}

/// <summary>A read-only root where task files are copied through the engine: the task folder is a volume of the container.</summary>
public class CopyModeHardeningTests(CopyTaskFileServer server) : IClassFixture<CopyTaskFileServer>
{
    [Fact]
    public async Task ReadOnlyRoot_WithCopiedTaskFiles_StillGetsPayloadAndResult()
    {
        var id = await server.RunShAsync(
            "touch /etc/x 2>/dev/null && echo root-writable; echo \"file=$(cat $STEVEDORE_PAYLOAD_FILE)\"; cat > $STEVEDORE_RESULT_FILE",
            new { readOnlyRootFilesystem = true }, new { payload = "p" });
        var task = await server.WaitForEndAsync(id, seconds: 30);

        TaskFileServer.AssertStatus("succeeded", task);
        Assert.Equal("file=p\n", await server.LogAsync(id));
        Assert.Equal("p", await server.Http.GetStringAsync($"/v1/tasks/{id}/result"));
        await Containers.GoneAsync(id);
    }
}
