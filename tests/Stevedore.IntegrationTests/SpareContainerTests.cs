using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Docker.DotNet;
using Microsoft.Extensions.DependencyInjection;

namespace Stevedore.IntegrationTests;

/// <summary>
/// A server whose pre-started containers go after 20 idle seconds (30 by default): long enough for a test to take the
/// spare its first task left on a busy machine, short enough to see one retire.
/// </summary>
public sealed class SpareServer : StevedoreServer
{
    public const int IdleSeconds = 20;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Docker:Spares:IdleSeconds"] = IdleSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Waits until the node holds a pre-started container of <paramref name="job"/> ready for its next task (the engine
    /// runs it, and the node has taken it in), and returns it.
    /// </summary>
    public async Task<Docker.DotNet.Models.ContainerListResponse> ReadySpareAsync(string job)
    {
        var spare = await Containers.ReadySpareAsync(job);
        var driver = (Stevedore.Execution.Docker.DockerContainerDriver)Services.GetRequiredService<Stevedore.Execution.IContainerDriver>();
        await Wait.UntilAsync(() => driver.SparesReady(job) > 0, $"node {Node} to hold the spare of job {job} ready");
        return spare;
    }
}

/// <summary>
/// Pre-started containers ("spares") on a real engine: a job's next task runs in the container started for it while
/// the previous one ran, sees exactly what a cold container shows its job, is timed out and cancelled the same way,
/// and the spares go when their job changes or idles.
/// </summary>
public class SpareContainerTests(SpareServer server) : IClassFixture<SpareServer>
{
    // What a job can see of its container: who it is, what it was given, and what is in its task folder.
    private const string Inspect =
        "echo \"host=$(hostname)\"; echo \"pid=$$ uid=$(id -u) cwd=$(pwd)\"; echo \"argv=$(tr '\\0' ' ' < /proc/1/cmdline)\"; " +
        "echo \"folder=$(ls -a /stevedore | tr '\\n' ' ')\"; echo \"stdin=$(cat) file=$(cat $STEVEDORE_PAYLOAD_FILE)\"; " +
        "echo \"task=$STEVEDORE_TASK_ID attempt=$STEVEDORE_ATTEMPT\"; " +
        "env | grep -v -e ^HOSTNAME= -e ^STEVEDORE_TASK_ID= -e ^TRACEPARENT= | sort | sed 's/^/env /'; " +
        "echo \"result of $(cat)$STEVEDORE_TASK_ID\" > $STEVEDORE_RESULT_FILE";

    private HttpClient Http => server.Http;

    private static object Sh(string script, object? extra = null)
    {
        var body = new Dictionary<string, object?> { ["image"] = StevedoreServer.Image, ["command"] = new[] { "sh", "-c", script } };
        foreach (var p in extra?.GetType().GetProperties() ?? [])
        {
            body[p.Name] = p.GetValue(extra);
        }

        return body;
    }

    private async Task<string[]> StdoutLinesAsync(string id) =>
        (await Http.GetStringAsync($"/v1/tasks/{id}/log?stream=stdout")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string Line(string[] lines, string prefix) => Assert.Single(lines, l => l.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>The spare that ran a task is removed once the task's outcome is recorded, a moment after its end shows.</summary>
    private static Task AssertGoneAsync(string containerId) =>
        WaitGoneAsync(containerId, $"container {containerId[..12]} to be removed after its task", Wait.DefaultDeadline);

    private static Task WaitGoneAsync(string containerId, string what, TimeSpan deadline) =>
        Wait.UntilAsync(async () =>
        {
            using var docker = Containers.Connect();
            try
            {
                await docker.Containers.InspectContainerAsync(containerId);
                return false;
            }
            catch (DockerContainerNotFoundException)
            {
                return true;
            }
        }, what, deadline);

    [Fact]
    public async Task TheNextTask_RunsInTheSpareStartedForIt_AndSeesWhatAColdContainerShows()
    {
        var job = Names.Unique("spare");
        await server.PutJobAsync(job, Sh(Inspect, new { env = new Dictionary<string, string> { ["CUSTOM"] = "it's $(not) run" } }));
        var cold = await server.EnqueueAsync(job, new { payload = "one" });
        Assert.Equal("succeeded", TaskJson.Status(await server.WaitForEndAsync(cold)));

        var spare = await server.ReadySpareAsync(job);
        var warm = await server.EnqueueAsync(job, new { payload = "two" });
        var task = await server.WaitForEndAsync(warm);

        Assert.Equal("succeeded", TaskJson.Status(task));
        var (c, w) = (await StdoutLinesAsync(cold), await StdoutLinesAsync(warm));
        // The second task ran in the container that waited for it (a container's hostname is its short id) ...
        Assert.Equal($"host={spare.ID[..12]}", Line(w, "host="));
        Assert.NotEqual(Line(c, "host="), Line(w, "host="));
        // ... as process 1 with the job's own argv, user and folder, the shim's env file gone before it ran ...
        Assert.Equal("pid=1 uid=0 cwd=/", Line(w, "pid="));
        Assert.Equal(Line(c, "pid="), Line(w, "pid="));
        Assert.Equal(Line(c, "argv="), Line(w, "argv="));
        Assert.StartsWith("argv=sh -c echo", Line(w, "argv="));
        Assert.Equal("folder=. .. payload ", Line(w, "folder="));
        Assert.Equal(Line(c, "folder="), Line(w, "folder="));
        // ... with its own payload, variables and result, and the same environment otherwise.
        Assert.Equal("stdin=two file=two", Line(w, "stdin="));
        Assert.Equal($"task={warm} attempt=1", Line(w, "task="));
        Assert.Equal(c.Where(l => l.StartsWith("env ", StringComparison.Ordinal)), w.Where(l => l.StartsWith("env ", StringComparison.Ordinal)));
        Assert.Contains("env CUSTOM=it's $(not) run", w);
        Assert.Contains($"env STEVEDORE_JOB={job}", w);
        Assert.Equal($"result of {warm}\n", Encoding.UTF8.GetString(await Http.GetByteArrayAsync($"/v1/tasks/{warm}/result")));
        // The container served that one task and went with it.
        await AssertGoneAsync(spare.ID);
        await Containers.GoneAsync(warm);
    }

    [Fact]
    public async Task AWebhooksHostileHeader_ReachesTheJobInASpare_ByteForByte()
    {
        var job = Names.Unique("sparehook");
        await server.PutJobAsync(job, Sh("hostname; env | grep ^STEVEDORE_HOOK_HEADER_ >&2"));
        var created = await Http.PostAsync($"/v1/jobs/{job}/webhooks", new StringContent("""{"headers":["X-Event"]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var hook = await created.Content.ReadFromJsonAsync<JsonElement>();
        const string hostile = "it's '$(touch /stevedore/pwned)' `id` ${HOME}; exit 3 \\ ' \"";

        async Task<string> CallAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/hooks/{hook.GetProperty("id").GetString()}") { Content = new ByteArrayContent("{}"u8.ToArray()) };
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/octet-stream");
            request.Headers.TryAddWithoutValidation("X-Stevedore-Token", hook.GetProperty("secret").GetString());
            request.Headers.TryAddWithoutValidation("X-Event", hostile);
            var response = await Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
            return JsonDocument.Parse(text).RootElement.GetProperty("taskId").GetString()!;
        }

        var cold = await CallAsync();
        await server.WaitForEndAsync(cold);
        var spare = await server.ReadySpareAsync(job);
        var warm = await CallAsync();
        var task = await server.WaitForEndAsync(warm);

        Assert.Equal("succeeded", TaskJson.Status(task));
        Assert.Equal($"STEVEDORE_HOOK_HEADER_X_EVENT={hostile}\n", await Http.GetStringAsync($"/v1/tasks/{warm}/log?stream=stderr"));
        Assert.Equal(await Http.GetStringAsync($"/v1/tasks/{cold}/log?stream=stderr"), await Http.GetStringAsync($"/v1/tasks/{warm}/log?stream=stderr"));
        Assert.Equal($"{spare.ID[..12]}\n", await Http.GetStringAsync($"/v1/tasks/{warm}/log?stream=stdout"));
        await AssertGoneAsync(spare.ID);
    }

    [Fact]
    public async Task Timeout_AndCancel_OfATaskInASpare_KillItsContainer()
    {
        var job = Names.Unique("sparekill");
        // "quick" ends at once (it leaves a spare); anything else says it is up and sleeps past its 3 s timeout.
        await server.PutJobAsync(job, Sh("[ \"$(cat)\" = quick ] && exit 0; echo up; sleep 60", new { timeoutSeconds = 3 }));
        await server.WaitForEndAsync(await server.EnqueueAsync(job, new { payload = "quick" }));

        var first = await server.ReadySpareAsync(job);
        var timedOut = await server.EnqueueAsync(job, new { payload = "slow" });
        var task = await server.WaitForEndAsync(timedOut, seconds: 30);
        Assert.Equal("timed_out", TaskJson.Status(task));
        Assert.Equal("timed out after 3 s; killed", task.GetProperty("error").GetString());
        Assert.Equal("up\n", await Http.GetStringAsync($"/v1/tasks/{timedOut}/log"));
        await AssertGoneAsync(first.ID);

        var second = await server.ReadySpareAsync(job);
        var cancelled = await server.EnqueueAsync(job, new { payload = "slow" });
        Assert.Equal("up", await server.FirstLogLineAsync(cancelled));
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync($"/v1/tasks/{cancelled}/cancel", null)).StatusCode);
        task = await server.WaitForEndAsync(cancelled, seconds: 30);
        Assert.Equal("cancelled", TaskJson.Status(task));
        Assert.Equal("cancelled; container killed", task.GetProperty("error").GetString());
        await AssertGoneAsync(second.ID);
        await Containers.GoneAsync(cancelled);
    }

    [Fact]
    public async Task AJobChange_RetiresItsSpares_TheNewVersionGetsItsOwn_AndIdleOnesGo()
    {
        var job = Names.Unique("sparechange");
        await server.PutJobAsync(job, Sh("echo v=$V", new { env = new Dictionary<string, string> { ["V"] = "1" } }));
        await server.WaitForEndAsync(await server.EnqueueAsync(job));
        var old = await server.ReadySpareAsync(job);

        await server.PutJobAsync(job, Sh("echo v=$V", new { env = new Dictionary<string, string> { ["V"] = "2" } }));
        // Well within the idle time: the change itself retires it.
        await WaitGoneAsync(old.ID, "the spare of version 1 to go once the job changed", TimeSpan.FromSeconds(SpareServer.IdleSeconds / 2));
        var first = await server.EnqueueAsync(job);
        await server.WaitForEndAsync(first);
        var fresh = await server.ReadySpareAsync(job);
        Assert.Equal("2", fresh.Labels[Containers.SpareLabel]);
        var second = await server.EnqueueAsync(job);
        await server.WaitForEndAsync(second);
        Assert.Equal("v=2\n", await Http.GetStringAsync($"/v1/tasks/{second}/log"));
        await AssertGoneAsync(fresh.ID);

        // No task of the job comes any more: once idle for its time, its spares go.
        await Wait.UntilAsync(
            async () => (await Containers.ListAsync(Containers.JobLabel, job)).Count == 0,
            "the idle job's spares to go", TimeSpan.FromSeconds(SpareServer.IdleSeconds * 3));
    }

    [Fact]
    public async Task AJobWithMaxConcurrency_GetsNoSpare_ItsContainersAreItsTasks()
    {
        var job = Names.Unique("sparelimited");
        await server.PutJobAsync(job, Sh("echo hi", new { maxConcurrency = 1 }));
        var unlimited = Names.Unique("spareunlimited");
        await server.PutJobAsync(unlimited, Sh("echo hi"));

        // Both run one task at the same time; the unlimited job's spare shows when a spare would have come.
        var ids = new[] { await server.EnqueueAsync(job), await server.EnqueueAsync(unlimited) };
        foreach (var id in ids)
        {
            await server.WaitForEndAsync(id);
        }

        await server.ReadySpareAsync(unlimited);
        await Containers.NoneLeftAsync(() => Containers.ListAsync(Containers.JobLabel, job), $"the containers of job {job}");
    }
}
