using Npgsql;

namespace Stevedore.Storage.Postgres;

/// <summary>
/// Waits for task logs to grow, for every caller in this process at once: while anyone waits, one loop asks
/// PostgreSQL for the last chunk of every waited-on log in one statement per interval, and wakes the callers whose log
/// has grown past their position. A thousand followers cost the database what one does.
/// </summary>
/// <remarks>
/// Polling rather than LISTEN/NOTIFY: a NOTIFY in the log writers' transactions would serialize their commits on the
/// notification queue, and a LISTEN connection needs its own reconnect handling; one indexed lookup per waited-on task
/// five times a second is cheap, and it costs nothing when nobody follows a log.
/// </remarks>
internal sealed class PostgresLogWatch(NpgsqlDataSource db)
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(200);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Waiter>> _waiters = new(StringComparer.Ordinal);
    private bool _polling;

    public Task WaitAsync(string taskId, long position, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        var waiter = new Waiter(position);
        bool start;
        lock (_lock)
        {
            if (!_waiters.TryGetValue(taskId, out var list))
            {
                _waiters[taskId] = list = [];
            }

            list.Add(waiter);
            start = !_polling;
            _polling = true;
        }

        waiter.Registration = cancellationToken.Register(() =>
        {
            Remove(taskId, waiter);
            waiter.Done.TrySetCanceled(cancellationToken);
        });
        if (start)
        {
            _ = Task.Run(PollAsync);
        }

        return waiter.Done.Task;
    }

    private void Remove(string taskId, Waiter waiter)
    {
        lock (_lock)
        {
            if (_waiters.TryGetValue(taskId, out var list) && list.Remove(waiter) && list.Count == 0)
            {
                _waiters.Remove(taskId);
            }
        }
    }

    private async Task PollAsync()
    {
        while (true)
        {
            string[] ids;
            lock (_lock)
            {
                if (_waiters.Count == 0)
                {
                    _polling = false;
                    return;
                }

                ids = [.. _waiters.Keys];
            }

            try
            {
                Wake(await LastPositionsAsync(ids));
            }
            catch (Exception)
            {
                // The database is away (or going): waiters keep waiting until their own tokens end them; the loop must
                // not die while anyone waits, so it tries again next round.
            }

            await Task.Delay(s_interval);
        }
    }

    private async Task<Dictionary<string, long>> LastPositionsAsync(string[] ids)
    {
        // One index lookup per task (the last chunk), not a scan of its log.
        await using var command = db.CreateCommand(
            "SELECT t.id, (SELECT max(seq) FROM stevedore_logs WHERE task_id = t.id) FROM unnest($1::text[]) AS t(id)");
        command.Parameters.AddWithValue(ids);
        var last = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            if (!reader.IsDBNull(1))
            {
                last[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        return last;
    }

    private void Wake(Dictionary<string, long> last)
    {
        List<Waiter>? woken = null;
        lock (_lock)
        {
            foreach (var (id, position) in last)
            {
                if (_waiters.TryGetValue(id, out var list))
                {
                    foreach (var waiter in list.Where(w => position > w.Position).ToList())
                    {
                        list.Remove(waiter);
                        (woken ??= []).Add(waiter);
                    }

                    if (list.Count == 0)
                    {
                        _waiters.Remove(id);
                    }
                }
            }
        }

        foreach (var waiter in woken ?? [])
        {
            waiter.Registration.Dispose();
            waiter.Done.TrySetResult();
        }
    }

    private sealed class Waiter(long position)
    {
        public long Position { get; } = position;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }
    }
}
