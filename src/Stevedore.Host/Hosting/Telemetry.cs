using System.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Stevedore.Options;
using Stevedore.Telemetry;

namespace Stevedore.Host.Hosting;

/// <summary>Metrics on <c>/metrics</c> (Prometheus text) and, when enabled, traces through OTLP.</summary>
public static class Telemetry
{
    public const string MetricsPath = "/metrics";

    /// <summary>The ASP.NET Core request span, the root of an enqueue's trace unless the caller sent a <c>traceparent</c>.</summary>
    private const string HttpRequestSpan = "Microsoft.AspNetCore.Hosting.HttpRequestIn";

    public static TracingOptions ReadTracing(IConfiguration config)
    {
        var options = config.GetSection(TracingOptions.Section).Get<TracingOptions>() ?? new TracingOptions();
        if (new TracingOptionsValidator().Validate(null, options) is { Failed: true } invalid)
        {
            throw new StartupException(invalid.FailureMessage);
        }

        return options;
    }

    public static void AddStevedoreTelemetry(this WebApplicationBuilder builder, TracingOptions tracing)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("stevedore"))
            .WithMetrics(m => m
                .AddMeter(StevedoreMetrics.MeterName, "Microsoft.Orleans")
                .AddPrometheusExporter());
        if (!tracing.IsEnabled)
        {
            return;
        }

        telemetry.WithTracing(t =>
        {
            t.AddSource(StevedoreTracing.SourceName, "Microsoft.Orleans.Application", "Microsoft.AspNetCore");
            t.SetSampler(new ParentBasedSampler(new RootSampler()));
            if (tracing.OtlpEndpoint is not null || Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is not null)
            {
                t.AddOtlpExporter(o =>
                {
                    if (tracing.OtlpEndpoint is { } endpoint)
                    {
                        o.Endpoint = new Uri(endpoint);
                        o.Protocol = tracing.OtlpProtocol == "grpc" ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
                    }
                });
            }
        });
    }

    /// <summary>
    /// <c>/metrics</c>: behind the admin token like the API (see <see cref="AdminTokenMiddleware"/>) unless
    /// <c>Stevedore:Metrics:Anonymous</c>.
    /// </summary>
    public static void MapStevedoreMetrics(this WebApplication app) => app.MapPrometheusScrapingEndpoint(MetricsPath);

    /// <summary>
    /// Starts traces only at requests and at Stevedore's own spans: grain calls and background loops without a parent
    /// (heartbeats, leases, sweeps) would otherwise each make a trace of their own. <c>/metrics</c> and
    /// <c>/healthz</c> polls make none.
    /// </summary>
    private sealed class RootSampler : Sampler
    {
        public override SamplingResult ShouldSample(in SamplingParameters parameters)
        {
            if (parameters.Name.StartsWith(StevedoreTracing.SpanPrefix, StringComparison.Ordinal))
            {
                return new SamplingResult(SamplingDecision.RecordAndSample);
            }

            if (parameters.Name == HttpRequestSpan && !IsPoll(parameters))
            {
                return new SamplingResult(SamplingDecision.RecordAndSample);
            }

            return new SamplingResult(SamplingDecision.Drop);
        }

        private static bool IsPoll(in SamplingParameters parameters)
        {
            foreach (var tag in parameters.Tags ?? [])
            {
                if (tag.Key == "url.path" && tag.Value is string path)
                {
                    return path.StartsWith(MetricsPath, StringComparison.Ordinal) || path.StartsWith("/healthz", StringComparison.Ordinal);
                }
            }

            return false;
        }
    }
}
