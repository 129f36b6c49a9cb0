using Microsoft.Extensions.Options;

namespace Stevedore.Host.Hosting;

/// <summary>Distributed tracing (OpenTelemetry). Configuration section <c>Stevedore:Tracing</c>.</summary>
/// <remarks>
/// Off by default: tracing records a handful of spans per task. A caller's <c>traceparent</c> reaches the container
/// as <c>TRACEPARENT</c> either way. The OTLP exporter also honours the standard <c>OTEL_EXPORTER_OTLP_*</c>
/// variables when <see cref="OtlpEndpoint"/> is left out.
/// </remarks>
public sealed class TracingOptions
{
    public const string Section = "Stevedore:Tracing";

    /// <summary>Record spans; on by default when <see cref="OtlpEndpoint"/> is set.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Where spans go, e.g. <c>http://collector:4317</c> (gRPC) or <c>http://collector:4318/v1/traces</c> (HTTP).</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> (default) or <c>http/protobuf</c>.</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    public bool IsEnabled => Enabled ?? OtlpEndpoint is not null;
}

public sealed class TracingOptionsValidator : IValidateOptions<TracingOptions>
{
    public ValidateOptionsResult Validate(string? name, TracingOptions options)
    {
        var failures = new List<string>();
        if (options.OtlpEndpoint is { } endpoint && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            failures.Add($"{TracingOptions.Section}:OtlpEndpoint '{endpoint}' is not an http(s) URL, e.g. http://127.0.0.1:4317.");
        }

        if (options.OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            failures.Add($"{TracingOptions.Section}:OtlpProtocol '{options.OtlpProtocol}' is unknown: use grpc or http/protobuf.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
