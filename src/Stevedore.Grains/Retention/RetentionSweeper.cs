using Microsoft.Extensions.Options;
using Stevedore.Options;
using Stevedore.Storage;
using Stevedore.Telemetry;

namespace Stevedore.Grains.Retention;

public readonly record struct SweepResult(int Tasks, int Keys, bool More);

/// <summary>
/// Deletes finished tasks past their retention (record, payload, log, result, idempotency key) and lapsed idempotency
/// keys, one small batch per call, through the stores: the same on every backend. Driven by <see cref="JanitorGrain"/>.
/// </summary>
public sealed class RetentionSweeper(
    IJobStore jobs, ITaskStore tasks, ITaskContentStore content, IOptions<RetentionOptions> retention, IOptions<QueueOptions> queue, TimeProvider time)
{
    /// <summary>One batch; <see cref="SweepResult.More"/> says whether another batch may find more.</summary>
    public async Task<SweepResult> SweepBatchAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var batch = retention.Value.BatchSize;
        var cutoffs = RetentionPolicy.Cutoffs(await jobs.ListAsync(cancellationToken), retention.Value.FinishedTasks, now);
        var expired = await tasks.FindExpiredAsync(cutoffs, batch, cancellationToken);
        var deleted = await FinishedTasks.DeleteAsync(tasks, content, expired, cancellationToken);
        var keys = await tasks.DeleteLapsedIdempotencyKeysAsync(now - queue.Value.IdempotencyWindow, batch, cancellationToken);
        if (keys > 0)
        {
            StevedoreMetrics.RetentionDeleted("idempotency_key", keys);
        }

        return new SweepResult(deleted.Count, keys, More: expired.Count >= batch || keys >= batch);
    }

    /// <summary>Batches until nothing is left (tests, and a first sweep after an upgrade); returns the totals.</summary>
    public async Task<SweepResult> SweepAllAsync(CancellationToken cancellationToken = default)
    {
        int tasksDeleted = 0, keysDeleted = 0;
        while (true)
        {
            var result = await SweepBatchAsync(cancellationToken);
            tasksDeleted += result.Tasks;
            keysDeleted += result.Keys;
            if (!result.More)
            {
                return new SweepResult(tasksDeleted, keysDeleted, More: false);
            }
        }
    }
}
