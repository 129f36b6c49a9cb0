using System.Net;
using System.Text.Json;

namespace Stevedore.IntegrationTests.Security;

/// <summary>
/// A host with one slot (so a slot a hostile job keeps is seen at once: the next task cannot start) and its own
/// task-files folder, so tests can look at what it leaves on the host.
/// </summary>
public class TaskFileServer : StevedoreServer
{
    public string TaskFilesPath { get; } = Path.Combine(Path.GetTempPath(), Names.Unique("stevedore-it"), "tasks");

    protected virtual string Mode => "bind";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Docker:TaskFiles"] = Mode,
        ["Stevedore:Docker:TaskFilesPath"] = TaskFilesPath,
        ["Stevedore:Worker:Slots"] = "1",
    };

    protected override Task CleanupAsync()
    {
        var root = Path.GetDirectoryName(TaskFilesPath)!;
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        return Task.CompletedTask;
    }

    /// <summary>Runs <paramref name="script"/> in the busybox image as a new job's only task.</summary>
    public async Task<string> RunShAsync(string script, object? job = null, object? task = null)
    {
        var name = Names.Unique("hostile");
        var body = new Dictionary<string, object?> { ["image"] = Image, ["command"] = new[] { "sh", "-c", script } };
        foreach (var p in job?.GetType().GetProperties() ?? [])
        {
            body[p.Name] = p.GetValue(job);
        }

        await PutJobAsync(name, body);
        return await EnqueueAsync(name, task);
    }

    public static void AssertStatus(string expected, JsonElement task, string context = "") =>
        Assert.True(task.GetProperty("status").GetString() == expected, $"expected {expected} {context}: {task}");

    public async Task<HttpResponseMessage> ResultAsync(string id) => await Http.GetAsync($"/v1/tasks/{id}/result");

    public async Task<string> LogAsync(string id) => await Http.GetStringAsync($"/v1/tasks/{id}/log");

    /// <summary>The worker's slot came back: with one slot, a new task can only run when no other holds it.</summary>
    public async Task AssertSlotFreeAsync()
    {
        var id = await RunShAsync("echo free");
        var task = await WaitForEndAsync(id, seconds: 30);
        AssertStatus("succeeded", task);
    }

    public async Task AssertNoResultAsync(string id)
    {
        var result = await ResultAsync(id);
        Assert.True(result.StatusCode == HttpStatusCode.NotFound, $"expected no result, got {(int)result.StatusCode}: {await result.Content.ReadAsStringAsync()}");
    }
}

/// <summary>The same, with task files copied through the engine API.</summary>
public sealed class CopyTaskFileServer : TaskFileServer
{
    protected override string Mode => "copy";
}
