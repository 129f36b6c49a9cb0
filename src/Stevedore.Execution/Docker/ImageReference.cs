namespace Stevedore.Execution.Docker;

/// <summary>A Docker image reference split the way the engine's pull call wants it.</summary>
public readonly record struct ImageReference(string Repository, string Tag)
{
    /// <summary><c>name</c>, <c>name:tag</c>, <c>host:port/name:tag</c> or <c>name@sha256:…</c>.</summary>
    public static ImageReference Parse(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            return new ImageReference(image[..at], image[(at + 1)..]);
        }

        var slash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        return colon > slash ? new ImageReference(image[..colon], image[(colon + 1)..]) : new ImageReference(image, "latest");
    }
}
