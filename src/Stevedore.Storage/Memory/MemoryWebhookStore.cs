using System.Collections.Concurrent;

namespace Stevedore.Storage.Memory;

public sealed class MemoryWebhookStore : IWebhookStore
{
    private readonly ConcurrentDictionary<string, WebhookRecord> _hooks = new(StringComparer.Ordinal);

    public Task InsertAsync(WebhookRecord hook, CancellationToken cancellationToken = default)
    {
        _hooks.TryAdd(hook.Id, hook);
        return Task.CompletedTask;
    }

    public Task<WebhookRecord?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_hooks.GetValueOrDefault(id));

    public Task<IReadOnlyList<WebhookRecord>> ListByJobAsync(string job, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<WebhookRecord>>(_hooks.Values
            .Where(h => h.Job == job)
            .OrderBy(h => h.CreatedAt)
            .ThenBy(h => h.Id, StringComparer.Ordinal)
            .ToList());

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_hooks.TryRemove(id, out _));
}
