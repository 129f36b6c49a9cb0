using Stevedore.Telemetry;

namespace Stevedore.Storage;

/// <summary>Removing finished tasks with everything they hold, by retention or by hand.</summary>
public static class FinishedTasks
{
    /// <summary>
    /// Deletes finished tasks: their payloads, logs and results first, then their records and idempotency keys, so
    /// that a removal cut short leaves records a later one finds, never content nobody can reach. Tasks that are not
    /// finished keep their record. Returns the ids whose records went.
    /// </summary>
    public static async Task<IReadOnlyList<string>> DeleteAsync(
        ITaskStore tasks, ITaskContentStore content, IReadOnlyList<string> finished, CancellationToken cancellationToken = default)
    {
        if (finished.Count == 0)
        {
            return [];
        }

        await content.DeleteAsync(finished, cancellationToken);
        var deleted = await tasks.DeleteFinishedAsync(finished, cancellationToken);
        StevedoreMetrics.RetentionDeleted("task", deleted.Count);
        return deleted;
    }
}
