using System.Text.Json;
using static Stevedore.IntegrationTests.Cli.CliProcess;

namespace Stevedore.IntegrationTests.Cli;

/// <summary>The built <c>stevedore</c> binary against a running host with real containers.</summary>
[Collection(ServerCollection.Name)]
public class CliTests(StevedoreServer server)
{
    private Task<CliProcess.Run> Stevedore(params string[] args) => CliProcess.RunAsync(server, args);

    private async Task<string> JobAsync(string prefix, params string[] command)
    {
        var name = Names.Unique(prefix);
        Succeeded(await Stevedore(["job", "put", name, "--image", StevedoreServer.Image, "--timeout", "1m", "--", .. command]));
        return name;
    }

    [Fact]
    public async Task QueueWait_StreamsTheLog_AndExitsWithTheContainersExitCode()
    {
        var job = await JobAsync("cliwait", "sh", "-c", "echo hi; echo \"got $(cat)\"; exit 3");
        var run = await Stevedore("task", "queue", job, "--payload", "data", "--wait");
        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Equal("hi\ngot data\n", run.Stdout);
    }

    [Fact]
    public async Task QueueWait_Succeeds_WithPayloadFromStandardInput()
    {
        var job = await JobAsync("clistdin", "sh", "-c", "cat; echo");
        var run = await CliProcess.RunWithInputAsync(server, "from stdin", "task", "queue", job, "--payload-file", "-", "--wait");
        Succeeded(run);
        Assert.Equal("from stdin\n", run.Stdout);
    }

    [Fact]
    public async Task Queue_PrintsTheId_ThenGetListLogsResultWait_Work()
    {
        var job = await JobAsync("cliqueue", "sh", "-c", "echo out; printf '{\"ok\":true}' > $STEVEDORE_RESULT_FILE");
        var queued = await Stevedore("task", "queue", job, "--label", "team=a", "--priority", "1");
        Succeeded(queued);
        var id = queued.Stdout.Trim();
        Assert.Matches("^[0-9a-f]{32}$", id);

        Succeeded(await Stevedore("task", "wait", id, "-o", "json"));
        var task = JsonDocument.Parse((await Stevedore("task", "get", id, "-o", "json")).Stdout).RootElement;
        Assert.Equal(id, task.GetProperty("id").GetString());
        Assert.Equal("succeeded", task.GetProperty("status").GetString());
        Assert.Equal("a", task.GetProperty("labels").GetProperty("team").GetString());
        Assert.Equal(0, task.GetProperty("exitCode").GetInt64());

        var list = JsonDocument.Parse((await Stevedore("task", "list", "--job", job, "--status", "succeeded", "-o", "json")).Stdout).RootElement;
        Assert.Equal(id, Assert.Single(list.GetProperty("items").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal("out\n", (await Stevedore("task", "logs", id)).Stdout);
        Assert.Equal("{\"ok\":true}", (await Stevedore("task", "result", id)).Stdout);

        var table = await Stevedore("task", "get", id);
        Succeeded(table);
        Assert.Contains("succeeded", table.Stdout);

        var retried = await Stevedore("task", "retry", id, "-o", "json");
        Succeeded(retried);
        Assert.Equal(id, JsonDocument.Parse(retried.Stdout).RootElement.GetProperty("retryOf").GetString());
    }

    [Fact]
    public async Task Jobs_ListGetPauseResumeStatsDelete_AsJson()
    {
        var job = await JobAsync("clijob", "true");
        Succeeded(await Stevedore("job", "put", job, "--image", StevedoreServer.Image, "--retries", "2", "-e", "A=1", "--", "true"));
        var list = JsonDocument.Parse((await Stevedore("job", "list", "-o", "json")).Stdout).RootElement;
        var listed = list.GetProperty("items").EnumerateArray().Single(j => j.GetProperty("name").GetString() == job);
        Assert.Equal(2, listed.GetProperty("version").GetInt64());
        Assert.Equal(2, listed.GetProperty("retries").GetInt64());
        Assert.Equal("1", listed.GetProperty("env").GetProperty("A").GetString());
        Assert.Equal(3600, listed.GetProperty("timeoutSeconds").GetInt64()); // a put replaces the whole definition

        Assert.True(JsonDocument.Parse((await Stevedore("job", "pause", job, "-o", "json")).Stdout).RootElement.GetProperty("paused").GetBoolean());
        Succeeded(await Stevedore("task", "queue", job));
        var stats = JsonDocument.Parse((await Stevedore("job", "stats", job, "-o", "json")).Stdout).RootElement;
        Assert.Equal(1, stats.GetProperty("queuedNow").GetInt64());
        Assert.False(JsonDocument.Parse((await Stevedore("job", "resume", job, "-o", "json")).Stdout).RootElement.GetProperty("paused").GetBoolean());
        Assert.Contains(job, (await Stevedore("job", "get", job)).Stdout);
        Succeeded(await Stevedore("job", "delete", job));
        FailedWith(3, await Stevedore("job", "get", job), job);
    }

    [Fact]
    public async Task JobPut_HardeningAndQueueFlags_RoundTrip_AndReachTheContainer()
    {
        var job = Names.Unique("clihard");
        Succeeded(await Stevedore("job", "put", job, "--image", StevedoreServer.Image, "--max-queued", "7", "--cap-add", "kill", "--cap-add", "CAP_CHOWN",
            "--user", "1000:1000", "--read-only", "--retention-days", "9", "--", "sh", "-c", "echo \"$(id -u):$(id -g)\"; touch /x 2>/dev/null || echo read-only"));
        var got = JsonDocument.Parse((await Stevedore("job", "get", job, "-o", "json")).Stdout).RootElement;
        Assert.Equal(7, got.GetProperty("maxQueued").GetInt64());
        Assert.Equal(["CHOWN", "KILL"], got.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal("1000:1000", got.GetProperty("user").GetString());
        Assert.True(got.GetProperty("readOnlyRootFilesystem").GetBoolean());
        Assert.Equal(9, got.GetProperty("retentionDays").GetInt64());
        var table = (await Stevedore("job", "get", job)).Stdout;
        Assert.Contains("CHOWN KILL", table);
        Assert.Contains("1000:1000", table);

        var run = await Stevedore("task", "queue", job, "--wait");
        Succeeded(run);
        Assert.Equal("1000:1000\nread-only\n", run.Stdout);

        // Without the flags the put takes the defaults again.
        Succeeded(await Stevedore("job", "put", job, "--image", StevedoreServer.Image, "--", "true"));
        got = JsonDocument.Parse((await Stevedore("job", "get", job, "-o", "json")).Stdout).RootElement;
        Assert.Equal((0, 0, JsonValueKind.Null, false), (got.GetProperty("maxQueued").GetInt64(), got.GetProperty("capabilities").GetArrayLength(),
            got.GetProperty("user").ValueKind, got.GetProperty("readOnlyRootFilesystem").GetBoolean()));
        Assert.Equal(JsonValueKind.Null, got.GetProperty("retentionDays").ValueKind);
    }

    [Fact]
    public async Task JobPut_HotFlags_MakeAHotJob_ThatTaskQueueWaitRuns()
    {
        var job = Names.Unique("clihot");
        Succeeded(await Stevedore("job", "put", job, "--image", StevedoreServer.Image, "--hot-max-per-node", "2", "--hot-idle", "90s",
            "--", "sh", "-c", HotContainerTests.Handler));
        var got = JsonDocument.Parse((await Stevedore("job", "get", job, "-o", "json")).Stdout).RootElement;
        Assert.Equal((2, 90), (got.GetProperty("hot").GetProperty("maxPerNode").GetInt64(), got.GetProperty("hot").GetProperty("idleSeconds").GetInt64()));
        Assert.Contains("2 per node, idle 90s", (await Stevedore("job", "get", job)).Stdout);

        var run = await Stevedore("task", "queue", job, "--payload", "cli", "--wait");
        Succeeded(run);
        Assert.Matches("^task [0-9a-f]{32} attempt 1 on [0-9a-f]+ v1\n$", run.Stdout);
        FailedWith(4, await Stevedore("job", "put", job, "--image", StevedoreServer.Image, "--hot-max-per-node", "0"), "hot.maxPerNode");
    }

    [Theory]
    [InlineData("job", "list", "--bogus")]
    [InlineData("job", "put", "x", "--image", "busybox", "--max-queued", "many")]
    [InlineData("job", "frobnicate")]
    [InlineData("task", "queue")]
    [InlineData("task", "list", "-o", "yaml")]
    [InlineData("task", "list", "--status", "done")]
    [InlineData("task", "queue", "x", "--delay", "10x")]
    [InlineData("task", "queue", "x", "--payload", "a", "--payload-file", "b")]
    [InlineData("task", "queue", "x", "--priority", "high")]
    [InlineData("job", "put", "x", "--image", "busybox", "--env", "NOVALUE")]
    [InlineData("job", "put", "x")]
    public async Task BadCommandLines_ExitWith2_AndOneLine(params string[] args)
    {
        var run = await Stevedore(args);
        FailedWith(2, run, "");
    }

    [Fact]
    public async Task UnknownThings_ExitWith3()
    {
        FailedWith(3, await Stevedore("task", "get", "0123456789abcdef0123456789abcdef"), "no task");
        FailedWith(3, await Stevedore("task", "logs", "nope"), "no task");
        FailedWith(3, await Stevedore("task", "queue", Names.Unique("nojob")), "no job");
    }

    [Fact]
    public async Task Refusals_ExitWith4_NamingTheField()
    {
        FailedWith(4, await Stevedore("job", "put", "Bad_Name", "--image", StevedoreServer.Image), "name");
        FailedWith(4, await Stevedore("job", "put", Names.Unique("climem"), "--image", StevedoreServer.Image, "--memory", "1"), "memoryMb");
        FailedWith(4, await Stevedore("job", "put", Names.Unique("clicap"), "--image", StevedoreServer.Image, "--cap-add", "SYS_ADMIN"), "capabilities[0]");
        FailedWith(4, await Stevedore("job", "put", Names.Unique("cliuser"), "--image", StevedoreServer.Image, "--user", "a:b:c"), "user");
        FailedWith(4, await Stevedore("job", "put", Names.Unique("cliqueued"), "--image", StevedoreServer.Image, "--max-queued", "-1"), "maxQueued");
        var job = await JobAsync("clirefuse", "true");
        var id = (await Stevedore("task", "queue", job)).Stdout.Trim();
        Succeeded(await Stevedore("task", "wait", id));
        FailedWith(4, await Stevedore("task", "cancel", id), "already finished");
    }

    [Fact]
    public async Task AnUnreachableServer_ExitsWith6()
    {
        FailedWith(6, await CliProcess.RunAsync(null, "job", "list"), "cannot reach");
    }
}

/// <summary>The CLI against a server with an admin token.</summary>
public class CliTokenTests(TokenServer server) : IClassFixture<TokenServer>
{
    [Fact]
    public async Task WithoutOrWithAWrongToken_ExitsWith5_AndWithTheTokenWorks()
    {
        var missing = await CliProcess.RunAsync(server, "job", "list");
        Assert.True(missing.ExitCode == 5, missing.ToString());
        Assert.Contains("--token", missing.Stderr);
        Assert.Equal(5, (await CliProcess.RunAsync(server, "job", "list", "--token", "wrong-token-0123456789")).ExitCode);
        var right = await CliProcess.RunAsync(server, "job", "list", "--token", TokenServer.Token, "-o", "json");
        Assert.True(right.ExitCode == 0, right.ToString());
        JsonDocument.Parse(right.Stdout);
    }
}
