using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace Stevedore.IntegrationTests.Grpc;

// Inside the namespace: the API's messages win over the host's types of the same name (JobSpec, ScheduleSpec).
using Stevedore.Api.V1;

/// <summary><c>stevedore.v1.Schedules</c>, <c>Webhooks</c> and <c>Events</c> over a real gRPC channel to a real host.</summary>
[Collection(ServerCollection.Name)]
public sealed class GrpcTriggersTests(StevedoreServer server) : IDisposable
{
    private readonly GrpcChannel _channel = server.NewChannel();

    private Schedules.SchedulesClient Schedules => new(_channel);

    private Webhooks.WebhooksClient Webhooks => new(_channel);

    private Events.EventsClient Events => new(_channel);

    public void Dispose() => _channel.Dispose();

    private async Task<string> JobAsync(string prefix, params string[] subscriptions)
    {
        var name = Names.Unique(prefix);
        var spec = new JobSpec { Image = StevedoreServer.Image, TimeoutSeconds = 60, Command = { "sh", "-c", "cat > $STEVEDORE_RESULT_FILE" } };
        spec.Subscriptions.AddRange(subscriptions);
        await new Jobs.JobsClient(_channel).PutJobAsync(new PutJobRequest { Name = name, Spec = spec });
        return name;
    }

    [Fact]
    public async Task Schedules_CreateGetListPauseResumeDelete_AsOverHttp()
    {
        var job = await JobAsync("gsched");
        var spec = new ScheduleSpec
        {
            Cron = "0 3 * * *", TimeZone = "Europe/Berlin", Overlap = ScheduleOverlap.Allow, MaxRuns = 5, Priority = 2,
            Payload = ByteString.CopyFromUtf8("nightly"), Labels = { ["team"] = "ops" },
            EndAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(30)),
        };
        var cron = await Schedules.CreateScheduleAsync(new CreateScheduleRequest { Job = job, Schedule = spec });
        Assert.Matches("^[0-9a-f]{32}$", cron.Id);
        Assert.Equal((job, "0 3 * * *", "Europe/Berlin", ScheduleState.Active), (cron.Job, cron.Cron, cron.TimeZone, cron.State));
        Assert.Equal((ScheduleOverlap.Allow, 5L, 2L, 7L, "ops"), (cron.Overlap, cron.MaxRuns, cron.Priority, cron.PayloadBytes, cron.Labels["team"]));
        Assert.False(cron.HasEverySeconds);
        var next = cron.NextRunAt.ToDateTimeOffset();
        Assert.Equal(0, next.Minute);
        Assert.InRange(next.UtcDateTime.Hour, 1, 2); // 03:00 in Berlin

        var every = await Schedules.CreateScheduleAsync(new CreateScheduleRequest { Job = job, Schedule = new ScheduleSpec { EverySeconds = 3600 } });
        Assert.Equal((3600L, false, ScheduleOverlap.Skip), (every.EverySeconds, every.HasTimeZone, every.Overlap));

        // The same schedule as the HTTP API shows it: one application layer.
        var overHttp = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/schedules/{cron.Id}");
        Assert.Equal(("Europe/Berlin", "allow", next), (overHttp.GetProperty("timeZone").GetString(), overHttp.GetProperty("overlap").GetString(), overHttp.GetProperty("nextRunAt").GetDateTimeOffset()));

        Assert.Equal(cron, await Schedules.GetScheduleAsync(new ScheduleRequest { Id = cron.Id }));
        Assert.Equal([cron.Id, every.Id], (await Schedules.ListSchedulesAsync(new ListSchedulesRequest { Job = job })).Items.Select(s => s.Id));

        var paused = await Schedules.PauseScheduleAsync(new ScheduleRequest { Id = cron.Id });
        Assert.Equal((ScheduleState.Paused, (Timestamp?)null), (paused.State, paused.NextRunAt));
        var resumed = await Schedules.ResumeScheduleAsync(new ScheduleRequest { Id = cron.Id });
        Assert.Equal((ScheduleState.Active, cron.NextRunAt), (resumed.State, resumed.NextRunAt));

        await Schedules.DeleteScheduleAsync(new ScheduleRequest { Id = cron.Id });
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Schedules.GetScheduleAsync(new ScheduleRequest { Id = cron.Id }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Schedules.DeleteScheduleAsync(new ScheduleRequest { Id = cron.Id }).ResponseAsync);
        Assert.Equal(every.Id, Assert.Single((await Schedules.ListSchedulesAsync(new ListSchedulesRequest { Job = job })).Items).Id);
    }

    public static TheoryData<ScheduleSpec, string> BadSchedules => new()
    {
        { new ScheduleSpec { Cron = "61 * * * *" }, "cron" },
        { new ScheduleSpec { Cron = "* * * *" }, "cron" },
        { new ScheduleSpec(), "cron" },
        { new ScheduleSpec { Cron = "0 3 * * *", TimeZone = "Mars/Olympus_Mons" }, "timeZone" },
        { new ScheduleSpec { EverySeconds = 5, TimeZone = "UTC" }, "timeZone" },
        { new ScheduleSpec { EverySeconds = 0 }, "everySeconds" },
        { new ScheduleSpec { EverySeconds = long.MaxValue }, "everySeconds" },
        { new ScheduleSpec { Cron = "0 3 * * *", EverySeconds = 5 }, "everySeconds" },
        { new ScheduleSpec { EverySeconds = 5, EndAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero)) }, "endAt" },
        { new ScheduleSpec { EverySeconds = 5, EndAt = new Timestamp { Seconds = long.MaxValue } }, "endAt" },
        { new ScheduleSpec { EverySeconds = 5, StartAt = new Timestamp { Seconds = 0, Nanos = -1 } }, "startAt" },
        { new ScheduleSpec { EverySeconds = 5, Overlap = (ScheduleOverlap)9 }, "overlap" },
        { new ScheduleSpec { EverySeconds = 5, MaxRuns = 0 }, "maxRuns" },
        { new ScheduleSpec { EverySeconds = 5, Priority = 7 }, "priority" },
        { new ScheduleSpec { EverySeconds = 5, Labels = { ["schedule"] = "mine" } }, "labels.schedule" },
        { new ScheduleSpec { Cron = "0 0 30 2 *" }, "cron" },
    };

    [Theory]
    [MemberData(nameof(BadSchedules))]
    public async Task CreateSchedule_InvalidInput_IsInvalidArgument_NamingTheFieldAsHttpDoes(ScheduleSpec spec, string field)
    {
        var job = await JobAsync("gbadsched");
        await GrpcAssert.FieldErrorAsync(field, () => Schedules.CreateScheduleAsync(new CreateScheduleRequest { Job = job, Schedule = spec }).ResponseAsync);
        Assert.Empty((await Schedules.ListSchedulesAsync(new ListSchedulesRequest { Job = job })).Items);
    }

    [Fact]
    public async Task Schedules_UnknownOrTooLarge_AreRefused()
    {
        var job = await JobAsync("grefsched");
        var unknown = new ScheduleRequest { Id = "0123456789abcdef0123456789abcdef" };
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Schedules.GetScheduleAsync(unknown).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Schedules.PauseScheduleAsync(unknown).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Schedules.ResumeScheduleAsync(new ScheduleRequest { Id = "not-an-id" }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Schedules.DeleteScheduleAsync(unknown).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Schedules.CreateScheduleAsync(
            new CreateScheduleRequest { Job = Names.Unique("nojob"), Schedule = new ScheduleSpec { EverySeconds = 5 } }).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("job", () => Schedules.ListSchedulesAsync(new ListSchedulesRequest()).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("job", () => Schedules.ListSchedulesAsync(new ListSchedulesRequest { Job = "Bad Name" }).ResponseAsync);
        var large = new ScheduleSpec { EverySeconds = 5, Payload = ByteString.CopyFrom(new byte[(1024 * 1024) + 1]) };
        await GrpcAssert.RefusedAsync(StatusCode.ResourceExhausted, () => Schedules.CreateScheduleAsync(new CreateScheduleRequest { Job = job, Schedule = large }).ResponseAsync);
        Assert.Empty((await Schedules.ListSchedulesAsync(new ListSchedulesRequest { Job = job })).Items);
    }

    [Fact]
    public async Task Webhooks_CreateShowsTheHttpUrlAndSecretOnce_TheHookTakesCalls_ListAndDelete()
    {
        var job = await JobAsync("ghook");
        var created = await Webhooks.CreateWebhookAsync(new CreateWebhookRequest { Job = job, Headers = { "X-Event" } });
        var hook = created.Webhook;
        Assert.Matches("^whsec_[0-9a-f]{64}$", created.Secret);
        Assert.Equal($"/v1/hooks/{hook.Id}", hook.Path);
        // Hooks are called over HTTP: the URL is the HTTP endpoint's, not the gRPC one this call used.
        Assert.Equal($"{server.Http.BaseAddress!.ToString().TrimEnd('/')}/v1/hooks/{hook.Id}", hook.Url);
        Assert.Equal(["X-Event"], hook.Headers);

        using var call = new HttpRequestMessage(HttpMethod.Post, hook.Url) { Content = new StringContent("ping") };
        call.Headers.Add("X-Stevedore-Token", created.Secret);
        var accepted = await server.Http.SendAsync(call);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var taskId = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("taskId").GetString()!;
        Assert.Equal("ping", await server.Http.GetStringAsync($"/v1/tasks/{(await server.WaitForEndAsync(taskId)).GetProperty("id").GetString()}/result"));

        var listed = Assert.Single((await Webhooks.ListWebhooksAsync(new ListWebhooksRequest { Job = job })).Items);
        Assert.Equal(hook, listed);
        Assert.DoesNotContain(created.Secret, listed.ToString());

        await Webhooks.DeleteWebhookAsync(new DeleteWebhookRequest { Job = job, Id = hook.Id });
        Assert.Empty((await Webhooks.ListWebhooksAsync(new ListWebhooksRequest { Job = job })).Items);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Webhooks.DeleteWebhookAsync(new DeleteWebhookRequest { Job = job, Id = hook.Id }).ResponseAsync);
    }

    [Fact]
    public async Task Webhooks_BadHeadersAndUnknownThings_AreRefused()
    {
        var job = await JobAsync("gbadhook");
        var bad = new CreateWebhookRequest { Job = job, Headers = { "Authorization", "bad header" } };
        await GrpcAssert.FieldErrorAsync("headers[0]", () => Webhooks.CreateWebhookAsync(bad).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("headers[1]", () => Webhooks.CreateWebhookAsync(bad).ResponseAsync);
        Assert.Empty((await Webhooks.ListWebhooksAsync(new ListWebhooksRequest { Job = job })).Items);

        var other = await JobAsync("gotherhook");
        var hook = (await Webhooks.CreateWebhookAsync(new CreateWebhookRequest { Job = other })).Webhook;
        // A hook is deleted only under its own job.
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Webhooks.DeleteWebhookAsync(new DeleteWebhookRequest { Job = job, Id = hook.Id }).ResponseAsync);
        Assert.Single((await Webhooks.ListWebhooksAsync(new ListWebhooksRequest { Job = other })).Items);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Webhooks.CreateWebhookAsync(new CreateWebhookRequest { Job = Names.Unique("nojob") }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Webhooks.ListWebhooksAsync(new ListWebhooksRequest { Job = Names.Unique("nojob") }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.NotFound, () => Webhooks.DeleteWebhookAsync(new DeleteWebhookRequest { Job = job, Id = "not-an-id" }).ResponseAsync);
    }

    [Fact]
    public async Task PublishEvent_MakesOneTaskPerSubscribedJob_AndARepublishNone()
    {
        var topic = Names.Unique("gorders");
        var subscribed = new[] { await JobAsync("gsub", topic, "other"), await JobAsync("gsub", topic) };
        var bystander = await JobAsync("gsub", "other");
        var job = await new Jobs.JobsClient(_channel).GetJobAsync(new JobRequest { Name = subscribed[0] });
        Assert.Equal([topic, "other"], job.Spec.Subscriptions.Order());

        var request = new PublishEventRequest { Topic = topic, Payload = ByteString.CopyFromUtf8("""{"order":7}"""), IdempotencyKey = "order-7" };
        var published = await Events.PublishEventAsync(request);
        Assert.Equal(subscribed.Order(), published.Jobs.Order());
        Assert.Equal(2, published.TaskIds.Count);
        foreach (var (taskId, jobName) in published.TaskIds.Zip(published.Jobs))
        {
            var task = await server.WaitForEndAsync(taskId);
            Assert.Equal((jobName, "succeeded", topic), (task.GetProperty("job").GetString(), task.GetProperty("status").GetString(),
                task.GetProperty("labels").GetProperty("event").GetString()));
            Assert.Equal("""{"order":7}""", await server.Http.GetStringAsync($"/v1/tasks/{taskId}/result"));
        }

        Assert.Equal(published.TaskIds.Order(), (await Events.PublishEventAsync(request)).TaskIds.Order());
        Assert.Empty((await server.Http.GetFromJsonAsync<JsonElement>($"/v1/tasks?job={bystander}")).GetProperty("items").EnumerateArray());
        Assert.Empty((await Events.PublishEventAsync(new PublishEventRequest { Topic = Names.Unique("quiet") })).TaskIds);
    }

    [Fact]
    public async Task PublishEventAndSubscriptions_BadInput_IsRefusedAsOverHttp()
    {
        await GrpcAssert.FieldErrorAsync("topic", () => Events.PublishEventAsync(new PublishEventRequest { Topic = "Bad Topic" }).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("topic", () => Events.PublishEventAsync(new PublishEventRequest()).ResponseAsync);
        await GrpcAssert.FieldErrorAsync("Idempotency-Key", () => Events.PublishEventAsync(new PublishEventRequest { Topic = "ok", IdempotencyKey = "" }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.ResourceExhausted, () => Events.PublishEventAsync(
            new PublishEventRequest { Topic = "ok", Payload = ByteString.CopyFrom(new byte[(1024 * 1024) + 1]) }).ResponseAsync);
        var spec = new JobSpec { Image = StevedoreServer.Image, Subscriptions = { "fine", "UPPER case" } };
        await GrpcAssert.FieldErrorAsync("subscriptions[1]", () => new Jobs.JobsClient(_channel).PutJobAsync(
            new PutJobRequest { Name = Names.Unique("gbadsub"), Spec = spec }).ResponseAsync);
    }
}

/// <summary>The trigger services need the admin token like every <c>stevedore.v1</c> call; hook URLs follow Stevedore:Webhooks:PublicUrl.</summary>
public sealed class GrpcTriggersAuthTests(PublicUrlTokenServer server) : IClassFixture<PublicUrlTokenServer>, IDisposable
{
    private readonly GrpcChannel _channel = server.NewChannel();

    private static readonly Metadata s_token = new() { { "authorization", "Bearer " + TokenServer.Token } };

    public void Dispose() => _channel.Dispose();

    [Fact]
    public async Task WithoutTheToken_EveryTriggerServiceIsUnauthenticated()
    {
        var id = new string('0', 32);
        await GrpcAssert.RefusedAsync(StatusCode.Unauthenticated, () => new Schedules.SchedulesClient(_channel).CreateScheduleAsync(
            new CreateScheduleRequest { Job = "x", Schedule = new ScheduleSpec { EverySeconds = 1 } }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.Unauthenticated, () => new Schedules.SchedulesClient(_channel).GetScheduleAsync(new ScheduleRequest { Id = id }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.Unauthenticated, () => new Schedules.SchedulesClient(_channel).ListSchedulesAsync(
            new ListSchedulesRequest { Job = "x" }, new Metadata { { "authorization", "Bearer wrong-token-0123456789" } }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.Unauthenticated, () => new Webhooks.WebhooksClient(_channel).CreateWebhookAsync(new CreateWebhookRequest { Job = "x" }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.Unauthenticated, () => new Webhooks.WebhooksClient(_channel).ListWebhooksAsync(new ListWebhooksRequest { Job = "x" }).ResponseAsync);
        await GrpcAssert.RefusedAsync(StatusCode.Unauthenticated, () => new Events.EventsClient(_channel).PublishEventAsync(new PublishEventRequest { Topic = "x" }).ResponseAsync);
    }

    [Fact]
    public async Task WithTheToken_TriggersWork_AndHookUrlsStartWithThePublicUrl()
    {
        var job = Names.Unique("gauth");
        await new Jobs.JobsClient(_channel).PutJobAsync(new PutJobRequest { Name = job, Spec = new JobSpec { Image = StevedoreServer.Image } }, s_token);
        var schedule = await new Schedules.SchedulesClient(_channel).CreateScheduleAsync(
            new CreateScheduleRequest { Job = job, Schedule = new ScheduleSpec { EverySeconds = 3600 } }, s_token);
        Assert.Equal(ScheduleState.Active, schedule.State);
        var hook = (await new Webhooks.WebhooksClient(_channel).CreateWebhookAsync(new CreateWebhookRequest { Job = job }, s_token)).Webhook;
        Assert.Equal($"{PublicUrlTokenServer.PublicUrl}/v1/hooks/{hook.Id}", hook.Url);
        Assert.Empty((await new Events.EventsClient(_channel).PublishEventAsync(new PublishEventRequest { Topic = Names.Unique("none") }, s_token)).TaskIds);
    }
}

/// <summary>A host with the admin token and a public URL for its HTTP endpoint (as behind a load balancer).</summary>
public sealed class PublicUrlTokenServer : StevedoreServer
{
    public const string PublicUrl = "https://jobs.example.com/stevedore";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Auth:AdminToken"] = TokenServer.Token,
        ["Stevedore:Webhooks:PublicUrl"] = PublicUrl + "/",
        ["Stevedore:Worker:Slots"] = "1",
    };
}
