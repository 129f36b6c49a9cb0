using System.Text;

namespace Stevedore.IntegrationTests.Security;

/// <summary>
/// A hostile job's result file, in both task-file modes: whatever it makes of it (a link to a host file, to a device,
/// a FIFO), the host never reads anything but a regular file of the task's own, never blocks on it, and keeps its
/// worker slot and no container. (Results within and over the limit: <see cref="TaskFileTests"/>.)
/// </summary>
public abstract class HostileTaskFileTests(TaskFileServer server)
{
    protected TaskFileServer Server { get; } = server;

    /// <summary>The task ended as the job's exit said, kept no result, told why in its log, and left nothing behind.</summary>
    protected async Task AssertResultRefusedAsync(string id, string what = "a result file")
    {
        var task = await Server.WaitForEndAsync(id, seconds: 30);

        TaskFileServer.AssertStatus("succeeded", task, $"with {what} as result file");
        await Server.AssertNoResultAsync(id);
        var log = await Server.LogAsync(id);
        Assert.Contains("[stevedore] result file", log);
        Assert.Contains("not kept", log);
        await Containers.GoneAsync(id);
        await Server.AssertSlotFreeAsync();
    }

    /// <summary>Each script turns the result file into something the host must not read; the task still ends as its exit says.</summary>
    [Theory]
    [InlineData("a link to the host's environment", "ln -s /proc/self/environ $STEVEDORE_RESULT_FILE")]
    [InlineData("a link to an endless device", "ln -s /dev/zero $STEVEDORE_RESULT_FILE")]
    [InlineData("a FIFO nobody writes", "mkfifo $STEVEDORE_RESULT_FILE")]
    [InlineData("a directory", "mkdir $STEVEDORE_RESULT_FILE && head -c 4096 /dev/zero > $STEVEDORE_RESULT_FILE/inner")]
    public async Task HostileResultFile_IsNotRead_NeverBlocks_AndLeavesNothingBehind(string what, string script)
    {
        var id = await Server.RunShAsync(script);

        await AssertResultRefusedAsync(id, what);
    }
}

/// <summary>The default mode: task files in a folder of the host, bind-mounted at /stevedore.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostileBindMountedTaskFileTests(TaskFileServer server) : HostileTaskFileTests(server), IClassFixture<TaskFileServer>
{
    [Fact]
    public async Task ResultFileLinkedToAHostFile_GivesNothingBack_AndCleanupFollowsNoLink()
    {
        // A host file and folder the job cannot see but could name: a secret, and a folder the cleanup must not enter.
        var hostDir = Path.Combine(Path.GetTempPath(), Names.Unique("stevedore-secret"));
        Directory.CreateDirectory(hostDir);
        var secret = "s3cret-" + Guid.NewGuid().ToString("N");
        var secretFile = Path.Combine(hostDir, "secret");
        await File.WriteAllTextAsync(secretFile, secret);
        try
        {
            var id = await Server.RunShAsync($"ln -s {secretFile} $STEVEDORE_RESULT_FILE && ln -s {hostDir} /stevedore/folder");

            await AssertResultRefusedAsync(id);
            Assert.DoesNotContain(secret, await Server.LogAsync(id));
            Assert.Equal(secret, await File.ReadAllTextAsync(secretFile));
        }
        finally
        {
            Directory.Delete(hostDir, recursive: true);
        }
    }

    [Fact]
    public async Task WritingAHugeFileIntoTheTaskFolder_IsBounded_AndFailsTheAttempt()
    {
        var id = await Server.RunShAsync("head -c 104857600 /dev/zero > /stevedore/big; echo \"wrote $(wc -c < /stevedore/big)\"");

        var task = await Server.WaitForEndAsync(id, seconds: 60);

        TaskFileServer.AssertStatus("failed", task);
        Assert.Contains("task folder /stevedore is full", task.GetProperty("error").GetString());
        var log = await Server.LogAsync(id);
        var wrote = long.Parse(log.Split("wrote ")[1].Split('\n')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(wrote, 1, 4L * 1024 * 1024);
        await Containers.GoneAsync(id);
    }

    [Fact]
    public async Task TaskFolder_IsItsOwnBoundedFilesystem_UnderAParentOnlyTheHostUserCanEnter()
    {
        var id = await Server.RunShAsync("echo up; sleep 60");
        Assert.Equal("up", await Server.FirstLogLineAsync(id));

        try
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Server.TaskFilesPath));
            var folder = Assert.Single(Directory.GetDirectories(Server.TaskFilesPath, $"{id}-1", SearchOption.AllDirectories));
            for (var dir = Path.GetDirectoryName(folder)!; dir.Length >= Server.TaskFilesPath.Length; dir = Path.GetDirectoryName(dir)!)
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
            }

            var mount = Mounts().SingleOrDefault(m => m.Point == folder);
            Assert.True(mount.Type == "tmpfs", $"{folder} is not a filesystem of its own (mounted: {mount.Type ?? "no"})");
            Assert.Contains("size=", mount.Options);
        }
        finally
        {
            await Server.Http.PostAsync($"/v1/tasks/{id}/cancel", null);
        }

        await Server.WaitForEndAsync(id, seconds: 30);
        // The folder goes with the container, once the outcome is recorded.
        await Wait.UntilAsync(
            () => Directory.GetDirectories(Server.TaskFilesPath, $"{id}-*", SearchOption.AllDirectories).Length == 0
                && !Mounts().Any(m => m.Point.Contains(id, StringComparison.Ordinal)),
            $"the task folder of {id} to be unmounted and removed");
    }

    /// <summary>This process's mounts (the host's, as the engine sees them: same mount namespace).</summary>
    private static IEnumerable<(string Point, string Type, string Options)> Mounts() =>
        File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' ')).Select(f => (Unescape(f[1]), f[2], f[3]));

    private static string Unescape(string path) => path.Replace("\\040", " ", StringComparison.Ordinal);
}

/// <summary>Task files copied through the engine API (a remote engine): the same refusals.</summary>
public sealed class HostileCopiedTaskFileTests(CopyTaskFileServer server) : HostileTaskFileTests(server), IClassFixture<CopyTaskFileServer>;
