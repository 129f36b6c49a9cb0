using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Stevedore.Storage;

namespace Stevedore.Application;

/// <summary>
/// Reads a task's log a page at a time (never more than <see cref="LogOptions.ReadPageBytes"/> in memory), and follows
/// it: under the node's follower caps, waking on log growth and on the shared status watch, and giving up on a task
/// that stays queued past <see cref="LogOptions.QueuedFollowTimeout"/>.
/// </summary>
public sealed class TaskLogReader(ITaskContentStore content, LogFollowers followers, IOptions<LogOptions> options, TimeProvider time)
{
    private readonly LogOptions _options = options.Value;

    /// <summary>Writes the log (or one stream of it) to <paramref name="write"/>; with <paramref name="follow"/>, until the task ends.</summary>
    public async Task<AppError?> ReadAsync(
        string id, LogStream? only, bool follow, Func<ReadOnlyMemory<byte>, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        if (!follow)
        {
            await CopyAsync(id, 0, only, write, cancellationToken);
            return null;
        }

        var joined = followers.Join(id);
        if (!joined.Ok)
        {
            return joined.Error;
        }

        using var follower = joined.Value!;
        // An empty write first: the caller learns at once that it is following (HTTP sends the headers).
        await write(ReadOnlyMemory<byte>.Empty, cancellationToken);
        long position = 0;
        DateTimeOffset? queuedSince = null;
        while (true)
        {
            position = await CopyAsync(id, position, only, write, cancellationToken);
            var (task, next) = await follower.CurrentAsync().WaitAsync(cancellationToken);
            if (task is null || task.Status.IsTerminal())
            {
                // The worker flushes the log before it reports the end: what came since is the rest.
                await CopyAsync(id, position, only, write, cancellationToken);
                return null;
            }

            var now = time.GetUtcNow();
            queuedSince = task.Status == TaskRunStatus.Queued ? queuedSince ?? now : null;
            var giveUpAt = queuedSince + _options.QueuedFollowTimeout;
            if (now >= giveUpAt)
            {
                if (only is null)
                {
                    await write(Encoding.UTF8.GetBytes(QueuedLine(task, now)), cancellationToken);
                }

                return null;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var growth = content.WaitForLogAsync(id, position, wait.Token);
            await (giveUpAt is { } at
                ? Task.WhenAny(growth, next, Task.Delay(at - now, time, wait.Token))
                : Task.WhenAny(growth, next));
            await wait.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private string QueuedLine(TaskRecord task, DateTimeOffset now)
    {
        var why = task.RunAfter is { } runAfter && runAfter > now
            ? $"it is delayed until {runAfter.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss'Z'", CultureInfo.InvariantCulture)}"
            : "its job may be paused or at its limits";
        return $"[stevedore] task {task.Id} is still queued after {_options.QueuedFollowTimeout.TotalSeconds:0} s ({why}); follow again later\n";
    }

    /// <summary>Copies pages from <paramref name="position"/> until the reader has caught up; returns the new position.</summary>
    private async Task<long> CopyAsync(
        string id, long position, LogStream? only, Func<ReadOnlyMemory<byte>, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (chunks, next) = await content.ReadLogAsync(id, position, _options.ReadPageBytes, cancellationToken);
            if (chunks.Count == 0)
            {
                return position;
            }

            foreach (var chunk in chunks)
            {
                if (only is null || chunk.Stream == only)
                {
                    await write(chunk.Data, cancellationToken);
                }
            }

            position = next;
        }
    }
}
