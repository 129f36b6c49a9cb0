using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Stevedore.Application;
using Stevedore.Host.Apis;

namespace Stevedore.Host.WebConsole.Pages;

/// <summary>
/// Creates or edits a job through its JSON definition, read exactly as <c>PUT /v1/jobs/{name}</c> reads it, so every
/// field the API knows can be set here and the same messages come back.
/// </summary>
public sealed class JobDefinitionModel(JobService jobs) : ConsolePage
{
    private static readonly JsonSerializerOptions s_json = CreateJsonOptions();
    private static readonly string[] s_readOnly = ["name", "version", "createdAt", "updatedAt", "paused"];

    [FromRoute]
    public string? Name { get; set; }

    public bool IsNew { get; private set; }

    [BindProperty]
    public string Definition { get; set; } = "";

    [BindProperty]
    public string? NewName { get; set; }

    public async Task<IActionResult> OnGetAsync()
    {
        IsNew = Name is null;
        if (IsNew)
        {
            Definition = """
                {
                  "image": "stevedore/busybox:latest",
                  "command": ["sh", "-c", "echo hello $(cat)"],
                  "timeoutSeconds": 600,
                  "retries": 0
                }
                """;
            return Page();
        }

        var job = await jobs.GetAsync(Name!);
        if (!job.Ok)
        {
            return NotFoundPage(job.Error!.Detail);
        }

        var node = JsonSerializer.SerializeToNode(JobResponse.From(job.Value!), s_json)!.AsObject();
        foreach (var field in s_readOnly)
        {
            node.Remove(field);
        }

        Definition = node.ToJsonString(s_json);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync()
    {
        IsNew = Name is null;
        var name = (Name ?? NewName ?? "").Trim();
        var errors = new FieldErrors();
        if (Validation.CheckJobName(name) is { } nameError)
        {
            errors.Add("name", nameError);
        }

        JobDraft? draft = null;
        try
        {
            using var document = JsonDocument.Parse(Definition, new JsonDocumentOptions { MaxDepth = 64 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add("definition", "must be a JSON object, e.g. {\"image\": \"busybox\"}");
            }
            else
            {
                draft = JsonInput.ReadJob(document.RootElement, errors, name);
            }
        }
        catch (JsonException ex)
        {
            errors.Add("definition", $"is not valid JSON: {ex.Message}");
        }

        var result = errors.Any || draft is null ? AppError.Invalid(errors) : await jobs.PutAsync(name, draft);
        if (result.Ok)
        {
            var saved = result.Value!;
            TempData["Note"] = saved.Created ? $"Created job {name}." : $"Saved job {name} (version {saved.Job.Version}).";
            return LocalRedirect(JobUrl(name));
        }

        Refusal = result.Error;
        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions { WriteIndented = true };
        ApiJson.Configure(options);
        options.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        return options;
    }
}
