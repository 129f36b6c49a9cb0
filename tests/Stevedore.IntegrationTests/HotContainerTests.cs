using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Stevedore.IntegrationTests;

/// <summary>
/// Hot jobs on a real Docker Engine over real HTTP: a handler in a few lines of busybox sh (the README's) serves many
/// tasks through the hot protocol on its stdin and stdout, one container per job version.
/// </summary>
[Collection(ServerCollection.Name)]
public class HotContainerTests(StevedoreServer server)
{
    /// <summary>The README's handler, with a few payloads that misbehave on purpose.</summary>
    public const string Handler = """
        while read -r tag id attempt len; do
          p=$(dd bs=1 count=$len 2>/dev/null)
          echo "task $id attempt $attempt on $HOSTNAME v$STEVEDORE_JOB_VERSION"
          case "$p" in
            fail) printf 'STEVEDORE-RESULT error 4\nboom' ;;
            bad) printf 'STEVEDORE-RESULT maybe 1\nx' ;;
            die) exit 3 ;;
            hold) sleep 600 ;;
            *) r="Hello, $p!"; printf 'STEVEDORE-RESULT ok %s\n%s' $(printf %s "$r" | wc -c) "$r" ;;
          esac
        done
        """;

    private static Dictionary<string, object?> HotJob(int idleSeconds = 60, object? extra = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["image"] = StevedoreServer.Image,
            ["command"] = new[] { "sh", "-c", Handler },
            ["hot"] = new { maxPerNode = 1, idleSeconds },
            ["memoryMb"] = 64,
            ["readOnlyRootFilesystem"] = true,
            ["user"] = "65534",
        };
        foreach (var p in extra?.GetType().GetProperties() ?? [])
        {
            body[p.Name] = p.GetValue(extra);
        }

        return body;
    }

    private async Task<(JsonElement Task, string Log)> RunAsync(string job, string payload, object? more = null)
    {
        var body = new Dictionary<string, object?> { ["payload"] = payload };
        foreach (var p in more?.GetType().GetProperties() ?? [])
        {
            body[p.Name] = p.GetValue(more);
        }

        var id = await server.EnqueueAsync(job, body);
        var task = await server.WaitForEndAsync(id);
        return (task, await server.Http.GetStringAsync($"/v1/tasks/{id}/log"));
    }

    private static Task<IList<Docker.DotNet.Models.ContainerListResponse>> ContainersOf(string job) =>
        Containers.ListAsync(Containers.JobLabel, job);

    /// <summary>The container that served a task, from the log line the handler writes ($HOSTNAME is its short id).</summary>
    private static string Host(string log) => log.Split(" on ")[1].Split(' ')[0];

    [Fact]
    public async Task ManyTasks_OneHardenedContainer_EachTaskWithItsOwnResultAndLog()
    {
        var job = Names.Unique("hot");
        await server.PutJobAsync(job, HotJob());
        var hosts = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            var (task, log) = await RunAsync(job, $"wörld {i}");
            var id = task.GetProperty("id").GetString()!;
            Assert.Equal("succeeded", TaskJson.Status(task));
            Assert.Equal(0, task.GetProperty("exitCode").GetInt32());
            Assert.Equal($"Hello, wörld {i}!", await server.Http.GetStringAsync($"/v1/tasks/{id}/result"));
            Assert.StartsWith($"task {id} attempt 1 on ", log);
            Assert.Single(log.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            hosts.Add(Host(log));
        }

        Assert.Single(hosts);
        var container = Assert.Single(await ContainersOf(job));
        Assert.StartsWith(hosts.Single(), container.ID);
        var inspect = await server.Docker.Containers.InspectContainerAsync(container.ID);
        Assert.Equal(64L * 1024 * 1024, inspect.HostConfig.Memory);
        Assert.Equal(["ALL"], inspect.HostConfig.CapDrop);
        Assert.True(inspect.HostConfig.ReadonlyRootfs);
        Assert.Equal("65534", inspect.Config.User);
        Assert.Contains("no-new-privileges", inspect.HostConfig.SecurityOpt);
        Assert.DoesNotContain(inspect.HostConfig.Binds ?? [], b => b.Contains("docker.sock", StringComparison.Ordinal));
        Assert.Empty(inspect.NetworkSettings.Ports ?? new Dictionary<string, IList<Docker.DotNet.Models.PortBinding>>());
    }

    [Fact]
    public async Task Errors_AreReported_PerTask_AndABrokenContainerIsReplaced()
    {
        var job = Names.Unique("hot-err");
        await server.PutJobAsync(job, HotJob());
        var (first, firstLog) = await RunAsync(job, "fail");
        var (bad, badLog) = await RunAsync(job, "bad");
        var (died, diedLog) = await RunAsync(job, "die");
        var (after, afterLog) = await RunAsync(job, "again");

        Assert.Equal("failed", TaskJson.Status(first));
        Assert.Equal("the hot handler answered with an error: boom", first.GetProperty("error").GetString());
        Assert.Equal("failed", TaskJson.Status(bad));
        Assert.Contains("broke the protocol (malformed response frame: the response status 'maybe' is neither ok nor error)", bad.GetProperty("error").GetString());
        Assert.Equal(Host(firstLog), Host(badLog));
        Assert.Equal("failed", TaskJson.Status(died));
        Assert.Equal(3, died.GetProperty("exitCode").GetInt32());
        Assert.Equal("the hot container exited with code 3 before it answered", died.GetProperty("error").GetString());
        Assert.NotEqual(Host(badLog), Host(diedLog));
        Assert.Equal("succeeded", TaskJson.Status(after));
        Assert.NotEqual(Host(diedLog), Host(afterLog));
        Assert.Single(await ContainersOf(job));
    }

    [Fact]
    public async Task TimeoutAndCancel_KillTheContainer_AndTheNextTaskGetsAFreshOne()
    {
        var job = Names.Unique("hot-kill");
        await server.PutJobAsync(job, HotJob());
        var (timedOut, timedOutLog) = await RunAsync(job, "hold", new { timeoutSeconds = 2 });
        var (next, nextLog) = await RunAsync(job, "next");

        Assert.Equal("timed_out", TaskJson.Status(timedOut));
        Assert.Equal("timed out after 2 s; killed", timedOut.GetProperty("error").GetString());
        Assert.Equal("succeeded", TaskJson.Status(next));
        Assert.NotEqual(Host(timedOutLog), Host(nextLog));

        var held = await server.EnqueueAsync(job, new { payload = "hold" });
        Assert.StartsWith($"task {held} attempt 1 on ", await server.FirstLogLineAsync(held));
        var cancel = await server.Http.PostAsync($"/v1/tasks/{held}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var cancelled = await server.WaitForEndAsync(held);
        var (last, lastLog) = await RunAsync(job, "last");

        Assert.Equal("cancelled", TaskJson.Status(cancelled));
        Assert.Equal("succeeded", TaskJson.Status(last));
        Assert.NotEqual(Host(nextLog), Host(lastLog));
    }

    [Fact]
    public async Task AnIdleContainer_Retires_AfterIdleSeconds()
    {
        var job = Names.Unique("hot-idle");
        await server.PutJobAsync(job, HotJob(idleSeconds: 1));
        var (task, _) = await RunAsync(job, "x");
        Assert.Equal("succeeded", TaskJson.Status(task));

        await Wait.UntilAsync(async () => (await ContainersOf(job)).Count == 0, "the idle hot container to be removed after 1 s", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task AJobChange_RetiresItsContainer_AndTasksRunOnTheNewVersion()
    {
        var job = Names.Unique("hot-change");
        await server.PutJobAsync(job, HotJob());
        var (v1, v1Log) = await RunAsync(job, "x");
        Assert.Contains(" v1\n", v1Log);

        await server.PutJobAsync(job, HotJob(extra: new { memoryMb = 96 }));
        await Wait.UntilAsync(async () => !(await ContainersOf(job)).Any(c => c.ID.StartsWith(Host(v1Log), StringComparison.Ordinal)),
            "the version 1 hot container to be removed", TimeSpan.FromSeconds(20));
        var (v2, v2Log) = await RunAsync(job, "y");

        Assert.Equal("succeeded", TaskJson.Status(v2));
        Assert.Equal(2, v2.GetProperty("jobVersion").GetInt32());
        Assert.Contains(" v2\n", v2Log);

        Assert.Equal(HttpStatusCode.NoContent, (await server.Http.DeleteAsync($"/v1/jobs/{job}")).StatusCode);
        await Wait.UntilAsync(async () => (await ContainersOf(job)).Count == 0, "the deleted job's hot container to be removed", TimeSpan.FromSeconds(20));
    }

    [Theory]
    [InlineData("""{"maxPerNode":0}""", "hot.maxPerNode")]
    [InlineData("""{"maxPerNode":65}""", "hot.maxPerNode")]
    [InlineData("""{"idleSeconds":0}""", "hot.idleSeconds")]
    [InlineData("""{"idleSeconds":"60"}""", "hot.idleSeconds")]
    [InlineData("""{"warm":true}""", "hot.warm")]
    [InlineData("true", "hot")]
    public async Task BadHotSettings_Are400_NamingTheField(string hot, string field)
    {
        var body = $$"""{"image":"{{StevedoreServer.Image}}","hot":{{hot}}}""";
        var response = await server.Http.PutAsync($"/v1/jobs/{Names.Unique("hot-bad")}", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }

    [Fact]
    public async Task HotSettings_ComeBackOnReads_WithDefaultsFilledIn()
    {
        var job = Names.Unique("hot-read");
        var put = await server.PutJobAsync(job, new { image = StevedoreServer.Image, hot = new { maxPerNode = 3 } });
        Assert.Equal(3, put.GetProperty("hot").GetProperty("maxPerNode").GetInt32());
        Assert.Equal(60, put.GetProperty("hot").GetProperty("idleSeconds").GetInt32());

        var cold = await server.PutJobAsync(Names.Unique("cold"), new { image = StevedoreServer.Image });
        Assert.Equal(JsonValueKind.Null, cold.TryGetProperty("hot", out var h) ? h.ValueKind : JsonValueKind.Null);
    }
}
