using System.Collections.Concurrent;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace Stevedore.Execution.Docker;

/// <summary>Pulls an image the engine lacks, once at a time per image however many attempts need it.</summary>
public sealed partial class ImagePuller(DockerClient client, ILogger logger)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _pulls = new(StringComparer.Ordinal);

    /// <summary>Null once the engine holds <paramref name="image"/>; otherwise why it could not be pulled, naming the image.</summary>
    public async Task<string?> EnsureAsync(string image, CancellationToken cancellationToken)
    {
        if (await HasImageAsync(image, cancellationToken))
        {
            return null;
        }

        var gate = _pulls.GetOrAdd(image, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (await HasImageAsync(image, cancellationToken))
            {
                return null;
            }

            var reference = ImageReference.Parse(image);
            string? error = null;
            try
            {
                await client.Images.CreateImageAsync(
                    new ImagesCreateParameters { FromImage = reference.Repository, Tag = reference.Tag },
                    authConfig: null,
                    new Progress<JSONMessage>(m => error ??= m.Error?.Message ?? (string.IsNullOrEmpty(m.ErrorMessage) ? null : m.ErrorMessage)),
                    cancellationToken);
            }
            catch (DockerApiException ex)
            {
                error = DockerErrors.Message(ex);
            }

            if (await HasImageAsync(image, cancellationToken))
            {
                LogPulled(logger, image);
                return null;
            }

            return $"image '{image}' could not be pulled: {error ?? "the registry did not provide it"}";
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<bool> HasImageAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            await client.Images.InspectImageAsync(image, cancellationToken);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulled image {Image}.")]
    private static partial void LogPulled(ILogger logger, string image);
}
