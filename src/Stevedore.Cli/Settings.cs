using System.ComponentModel;
using Google.Protobuf;
using Spectre.Console;
using Spectre.Console.Cli;
using Stevedore.Client;

namespace Stevedore.Cli;

/// <summary>Where the server is and the token it needs; every command takes them.</summary>
public class ServerSettings : CommandSettings
{
    [CommandOption("--server <URL>")]
    [Description("The server's gRPC address (default: $STEVEDORE_SERVER, else http://127.0.0.1:8081)")]
    public string? Server { get; set; }

    [CommandOption("--token <TOKEN>")]
    [Description("The server's admin token (default: $STEVEDORE_TOKEN)")]
    public string? Token { get; set; }

    public StevedoreClient Connect()
    {
        var server = Server ?? Environment.GetEnvironmentVariable("STEVEDORE_SERVER");
        var address = string.IsNullOrWhiteSpace(server)
            ? StevedoreClientOptions.DefaultAddress
            : Uri.TryCreate(server.Contains("://", StringComparison.Ordinal) ? server : "http://" + server, UriKind.Absolute, out var uri)
                ? uri
                : throw new UsageException($"--server '{server}' is not an address such as http://127.0.0.1:8081");
        var token = Token ?? Environment.GetEnvironmentVariable("STEVEDORE_TOKEN");
        return new StevedoreClient(new StevedoreClientOptions { Address = address, Token = string.IsNullOrEmpty(token) ? null : token });
    }

    public override ValidationResult Validate() =>
        Server is { } s && string.IsNullOrWhiteSpace(s) ? ValidationResult.Error("--server must not be empty") : ValidationResult.Success();
}

/// <summary>Commands that print something: as a table for people or as JSON for scripts.</summary>
public class OutputSettings : ServerSettings
{
    [CommandOption("-o|--output <FORMAT>")]
    [Description("table (default) or json")]
    [DefaultValue("table")]
    public string Output { get; set; } = "table";

    public bool Json => Output == "json";

    public override ValidationResult Validate() =>
        Output is "table" or "json" ? base.Validate() : ValidationResult.Error($"-o '{Output}' is not a format: use table or json");
}

/// <summary>Commands on one job.</summary>
public class JobNameSettings : OutputSettings
{
    [CommandArgument(0, "<NAME>")]
    [Description("The job's name")]
    public string Name { get; set; } = "";
}

/// <summary>Commands on one task.</summary>
public class TaskIdSettings : OutputSettings
{
    [CommandArgument(0, "<ID>")]
    [Description("The task's id (32 hex digits)")]
    public string Id { get; set; } = "";
}

/// <summary>The command line is wrong in a way the parser cannot see (exit code 2).</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>An async command with its client, the one place that connects.</summary>
public abstract class ClientCommand<TSettings> : AsyncCommand<TSettings>
    where TSettings : ServerSettings
{
    public sealed override async Task<int> ExecuteAsync(CommandContext context, TSettings settings, CancellationToken cancellationToken)
    {
        using var client = settings.Connect();
        return await RunAsync(client, context, settings, cancellationToken);
    }

    protected abstract Task<int> RunAsync(StevedoreClient client, CommandContext context, TSettings settings, CancellationToken cancellationToken);

    protected static T Check<T>(T? value, string? error)
        where T : struct => value ?? throw new UsageException(error!);

    protected static T Check<T>(T? value, string? error)
        where T : class => value ?? throw new UsageException(error!);
}

/// <summary>Commands that send a payload: as text, from a file, or from standard input.</summary>
public class PayloadSettings : OutputSettings
{
    [CommandOption("-p|--payload <TEXT>")]
    [Description("The payload, as text")]
    public string? Payload { get; set; }

    [CommandOption("-f|--payload-file <FILE>")]
    [Description("The payload, read from a file ('-' for standard input)")]
    public string? PayloadFile { get; set; }

    public override ValidationResult Validate() =>
        Payload is not null && PayloadFile is not null
            ? ValidationResult.Error("give --payload or --payload-file, not both")
            : base.Validate();

    /// <summary>The payload's bytes (empty when neither option is given).</summary>
    public async Task<ByteString> ReadPayloadAsync(CancellationToken ct)
    {
        if (Payload is { } text)
        {
            return ByteString.CopyFromUtf8(text);
        }

        if (PayloadFile is not { } file)
        {
            return ByteString.Empty;
        }

        if (file == Commands.StandardInput)
        {
            using var buffer = new MemoryStream();
            await Console.OpenStandardInput().CopyToAsync(buffer, ct);
            return ByteString.CopyFrom(buffer.GetBuffer(), 0, (int)buffer.Length);
        }

        try
        {
            return ByteString.CopyFrom(await File.ReadAllBytesAsync(file, ct));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--payload-file '{file}' cannot be read: {ex.Message}");
        }
    }
}
