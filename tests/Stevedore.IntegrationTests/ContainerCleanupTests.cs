using System.Net;
using Stevedore.Client;
using Stevedore.Testing;
using Stevedore.Api.V1;

namespace Stevedore.IntegrationTests;

/// <summary>No container is left behind whatever moment a task is cancelled at.</summary>
[Collection(ServerCollection.Name)]
public class ContainerCleanupTests(StevedoreServer server)
{
    /// <summary>
    /// Cancels 30 tasks the moment they turn running, while their container is being created: the engine finishes a
    /// create the client gave up on, so a worker that stops waiting for it never learns the id to remove.
    /// </summary>
    [Fact]
    public async Task CancelWhileTheContainerIsBeingCreated_LeavesNoContainer()
    {
        var job = Names.Unique("cancel-create");
        // maxConcurrency keeps the job off pre-started containers: every task here creates its own container.
        await server.PutJobAsync(job, new { image = StevedoreServer.Image, command = new[] { "sleep", "60" }, maxConcurrency = 100 });
        var ids = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var id = await server.EnqueueAsync(job);
            ids.Add(id);
            await WaitUntilRunningAsync(id);
            Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsync($"/v1/tasks/{id}/cancel", null)).StatusCode);
            var task = await server.WaitForEndAsync(id, seconds: 30);
            Assert.Equal("cancelled", task.GetProperty("status").GetString());
        }

        // Every create the engine was asked for has finished by now (each task ended after it); none may remain.
        foreach (var id in ids)
        {
            await Containers.GoneAsync(id);
        }
    }

    /// <summary>Watches the task's state changes (the gRPC stream) and returns as soon as it is running.</summary>
    private async Task WaitUntilRunningAsync(string id)
    {
        using var client = server.NewClient();
        await Wait.ForAsync(RunningAsync(client, id), $"task {id} to start");
    }

    private static async Task RunningAsync(StevedoreClient client, string id)
    {
        await foreach (var task in client.WatchAsync(id))
        {
            if (task.Status == TaskState.Running)
            {
                return;
            }
        }

        Assert.Fail($"task {id} ended without running");
    }
}
