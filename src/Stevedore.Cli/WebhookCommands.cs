using System.ComponentModel;
using Spectre.Console.Cli;
using Stevedore.Client;

namespace Stevedore.Cli;

public sealed class WebhookCreateSettings : OutputSettings
{
    [CommandArgument(0, "<JOB>")]
    [Description("The job whose tasks the webhook makes")]
    public string Job { get; set; } = "";

    [CommandOption("-H|--header <NAME>")]
    [Description("A request header whose value the container sees as STEVEDORE_HOOK_HEADER_<NAME>; repeat for more")]
    public string[] Headers { get; set; } = [];
}

/// <summary><c>stevedore webhook create JOB [--header NAME]…</c>: prints the URL and the secret, which is shown only now.</summary>
public sealed class WebhookCreateCommand : ClientCommand<WebhookCreateSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, WebhookCreateSettings s, CancellationToken ct)
    {
        var created = await client.CreateWebhookAsync(s.Job, s.Headers, ct);
        var hook = created.Webhook;
        if (s.Json)
        {
            Output.Json(TriggerViews.CreatedWebhook(created));
            return ExitCodes.Ok;
        }

        // Plain lines, never wrapped, so the URL and the secret can be copied whole.
        Console.Out.WriteLine($"id      {hook.Id}");
        Console.Out.WriteLine($"url     {hook.Url}");
        Console.Out.WriteLine($"secret  {created.Secret}");
        Console.Error.WriteLine(
            $"""
            The secret is shown only now: keep it where the caller can read it. Call the hook over HTTP with it as a token,
              curl -X POST '{hook.Url}' -H 'X-Stevedore-Token: {created.Secret}' --data-binary @body.json
            or sign the body with it (HMAC-SHA256):
              sig=$(openssl dgst -sha256 -hmac '{created.Secret}' -r < body.json | cut -d' ' -f1)
              curl -X POST '{hook.Url}' -H "X-Stevedore-Signature: sha256=$sig" --data-binary @body.json
            """);
        return ExitCodes.Ok;
    }
}

/// <summary><c>stevedore webhook list JOB</c></summary>
public sealed class WebhookListCommand : ClientCommand<JobNameSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, JobNameSettings s, CancellationToken ct)
    {
        var hooks = await client.ListWebhooksAsync(s.Name, ct);
        Output.Show(s, new { items = hooks.Select(TriggerViews.Webhook) }, () => TriggerViews.Webhooks(hooks));
        return ExitCodes.Ok;
    }
}

public sealed class WebhookDeleteSettings : ServerSettings
{
    [CommandArgument(0, "<JOB>")]
    [Description("The webhook's job")]
    public string Job { get; set; } = "";

    [CommandArgument(1, "<ID>")]
    [Description("The webhook's id")]
    public string Id { get; set; } = "";
}

/// <summary><c>stevedore webhook delete JOB ID</c></summary>
public sealed class WebhookDeleteCommand : ClientCommand<WebhookDeleteSettings>
{
    protected override async Task<int> RunAsync(StevedoreClient client, CommandContext context, WebhookDeleteSettings s, CancellationToken ct)
    {
        await client.DeleteWebhookAsync(s.Job, s.Id, ct);
        Console.Error.WriteLine($"deleted webhook {s.Id} of job {s.Job}; calls of it are refused from now on");
        return ExitCodes.Ok;
    }
}
