using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Stevedore.Client;

namespace Stevedore.IntegrationTests.Client;

// Inside the namespace: the API's messages win over the host's types of the same name.
using Stevedore.Api.V1;

/// <summary>Schedules, webhooks and events through the .NET client library, against a real host running real containers.</summary>
[Collection(ServerCollection.Name)]
public sealed class ClientTriggerTests(StevedoreServer server) : IDisposable
{
    private readonly StevedoreClient _client = server.NewClient();

    public void Dispose() => _client.Dispose();

    private async Task<string> JobAsync(string prefix, params string[] subscriptions)
    {
        var name = Names.Unique(prefix);
        var spec = new JobSpec { Image = StevedoreServer.Image, TimeoutSeconds = 60, Command = { "sh", "-c", "cat > $STEVEDORE_RESULT_FILE" } };
        spec.Subscriptions.AddRange(subscriptions);
        await _client.PutJobAsync(name, spec);
        return name;
    }

    [Fact]
    public async Task ASchedule_FiresItsTasks_WhichRun()
    {
        var job = await JobAsync("csched");
        var schedule = await _client.CreateScheduleAsync(job, new ScheduleSpec
        {
            EverySeconds = 1, MaxRuns = 2, Overlap = ScheduleOverlap.Allow, Payload = ByteString.CopyFromUtf8("tick"),
        });
        Assert.Equal(ScheduleState.Active, schedule.State);

        // Waits on the schedule's own state (it says when its last occurrence has fired), with a deadline.
        var deadline = Stopwatch.StartNew();
        while ((schedule = await _client.GetScheduleAsync(schedule.Id)).State != ScheduleState.Finished)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"the schedule has not finished: {schedule}");
            await Task.Delay(100);
        }

        Assert.Equal(2, schedule.Runs);
        var tasks = (await _client.ListTasksAsync(new ListTasksRequest { Job = job, Label = $"schedule:{schedule.Id}" })).Items;
        Assert.Equal(2, tasks.Count);
        Assert.Equal(schedule.LastTaskId, tasks[0].Id);
        foreach (var task in tasks)
        {
            Assert.Equal(TaskState.Succeeded, (await _client.WaitAsync(task.Id)).Status);
            Assert.Equal("tick", Encoding.UTF8.GetString((await _client.GetResultAsync(task.Id)).Span));
        }

        Assert.Equal(schedule.Id, Assert.Single(await _client.ListSchedulesAsync(job)).Id);
        await _client.DeleteScheduleAsync(schedule.Id);
        await Assert.ThrowsAsync<StevedoreNotFoundException>(() => _client.ResumeScheduleAsync(schedule.Id));
    }

    [Fact]
    public async Task AWebhook_MadeByTheClient_AcceptsASignedCall_AndRefusesATamperedOne()
    {
        var job = await JobAsync("chook");
        var created = await _client.CreateWebhookAsync(job, ["X-Event"]);
        var body = Encoding.UTF8.GetBytes("""{"ref":"main"}""");
        var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(created.Secret), body));

        var tampered = await CallAsync(created.Webhook.Url, [.. body, (byte)' '], signature);
        Assert.Equal(HttpStatusCode.Unauthorized, tampered.StatusCode);
        var accepted = await CallAsync(created.Webhook.Url, body, signature);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var taskId = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("taskId").GetString()!;

        var task = await _client.WaitAsync(taskId);
        Assert.Equal(TaskState.Succeeded, task.Status);
        Assert.Equal(created.Webhook.Id, task.Labels["webhook"]);
        Assert.Equal(body, (await _client.GetResultAsync(taskId)).ToArray());
        Assert.Equal(created.Webhook.Id, Assert.Single(await _client.ListWebhooksAsync(job)).Id);

        await _client.DeleteWebhookAsync(job, created.Webhook.Id);
        Assert.Equal(HttpStatusCode.NotFound, (await CallAsync(created.Webhook.Url, body, signature)).StatusCode);
        await Assert.ThrowsAsync<StevedoreNotFoundException>(() => _client.DeleteWebhookAsync(job, created.Webhook.Id));
    }

    [Fact]
    public async Task AnEvent_FansOutToTheSubscribedJobs()
    {
        var topic = Names.Unique("cevents");
        var jobs = new[] { await JobAsync("cevsub", topic), await JobAsync("cevsub", topic) };
        var published = await _client.PublishEventAsync(topic, "hello");
        Assert.Equal(jobs.Order(), published.Jobs.Order());
        foreach (var taskId in published.TaskIds)
        {
            Assert.Equal(TaskState.Succeeded, (await _client.WaitAsync(taskId)).Status);
            Assert.Equal("hello", Encoding.UTF8.GetString((await _client.GetResultAsync(taskId)).Span));
        }
    }

    [Fact]
    public async Task TriggerRefusals_AreTypedExceptions_WithTheFieldErrors()
    {
        var job = await JobAsync("ctrigbad");
        var invalid = await Assert.ThrowsAsync<StevedoreValidationException>(() =>
            _client.CreateScheduleAsync(job, new ScheduleSpec { Cron = "0 3 * * *", TimeZone = "Nowhere/Land", MaxRuns = 0 }));
        Assert.Contains("timeZone", invalid.Errors.Keys);
        Assert.Contains("maxRuns", invalid.Errors.Keys);
        await Assert.ThrowsAsync<StevedoreNotFoundException>(() => _client.CreateScheduleAsync(Names.Unique("nojob"), new ScheduleSpec { EverySeconds = 5 }));
        await Assert.ThrowsAsync<StevedoreValidationException>(() => _client.CreateWebhookAsync(job, ["Cookie"]));
        await Assert.ThrowsAsync<StevedoreTooLargeException>(() => _client.PublishEventAsync("big", new byte[(1024 * 1024) + 1]));
        var topic = await Assert.ThrowsAsync<StevedoreValidationException>(() => _client.PublishEventAsync("No Such Topic!", "x"));
        Assert.Contains("topic", topic.Errors.Keys);
    }

    [Fact]
    public async Task Cancellation_ReachesTriggerCalls()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.ListSchedulesAsync("any", cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.PublishEventAsync("any", "x", cancellationToken: cancelled.Token));
    }

    private async Task<HttpResponseMessage> CallAsync(string url, byte[] body, string signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Stevedore-Signature", signature);
        request.Headers.Add("X-Event", "push");
        return await server.Http.SendAsync(request);
    }
}
