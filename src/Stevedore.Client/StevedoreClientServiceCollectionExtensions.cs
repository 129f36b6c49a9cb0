using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Stevedore.Client;

/// <summary>Registers a <see cref="StevedoreClient"/> for dependency injection.</summary>
public static class StevedoreClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds one shared <see cref="StevedoreClient"/> configured by <paramref name="configure"/> (address and token).
    /// Safe to call twice: the later configuration adds to the earlier one.
    /// </summary>
    public static IServiceCollection AddStevedoreClient(this IServiceCollection services, Action<StevedoreClientOptions>? configure = null)
    {
        var options = services.AddOptions<StevedoreClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(sp => new StevedoreClient(sp.GetRequiredService<IOptions<StevedoreClientOptions>>().Value));
        return services;
    }
}
