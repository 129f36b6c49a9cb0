using System.ComponentModel;
using Spectre.Console.Cli;
using Stevedore.Client;

namespace Stevedore.Cli;

public sealed class EventPublishSettings : PayloadSettings
{
    [CommandArgument(0, "<TOPIC>")]
    [Description("The topic: every job subscribed to it (job put --subscribe TOPIC) gets a task")]
    public string Topic { get; set; } = "";

    [CommandOption("--idempotency-key <KEY>")]
    [Description("The event's own id: publishing it again makes no new tasks")]
    public string? IdempotencyKey { get; set; }
}

/// <summary><c>stevedore event publish TOPIC [--payload TEXT | --payload-file FILE|-]</c>: prints the task ids.</summary>
public sealed class EventPublishCommand : ClientCommand<EventPublishSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, EventPublishSettings s, CancellationToken ct)
    {
        var payload = await s.ReadPayloadAsync(ct);
        var published = await client.PublishEventAsync(s.Topic, payload.Memory, s.IdempotencyKey, ct);
        if (s.Json)
        {
            Output.Json(TriggerViews.Event(published));
            return ExitCodes.Ok;
        }

        foreach (var id in published.TaskIds)
        {
            Console.Out.WriteLine(id);
        }

        Console.Error.WriteLine(published.Jobs.Count == 0
            ? $"no job subscribes to '{s.Topic}': no task made"
            : $"{published.Jobs.Count} task(s), for {string.Join(", ", published.Jobs)}");
        return ExitCodes.Ok;
    }
}
