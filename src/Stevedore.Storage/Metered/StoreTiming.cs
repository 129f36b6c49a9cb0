using Stevedore.Telemetry;

namespace Stevedore.Storage.Metered;

/// <summary>Records how long a store call took, from a timestamp taken before the call began.</summary>
internal static class StoreTiming
{
    public static Task<T> Timed<T>(long startedAt, Task<T> call, string store, string operation)
    {
        if (call.IsCompleted)
        {
            StevedoreMetrics.StoreCall(store, operation, startedAt);
            return call;
        }

        return AwaitAsync(call, store, operation, startedAt);

        static async Task<T> AwaitAsync(Task<T> call, string store, string operation, long startedAt)
        {
            try
            {
                return await call;
            }
            finally
            {
                StevedoreMetrics.StoreCall(store, operation, startedAt);
            }
        }
    }

    public static Task Timed(long startedAt, Task call, string store, string operation)
    {
        if (call.IsCompleted)
        {
            StevedoreMetrics.StoreCall(store, operation, startedAt);
            return call;
        }

        return AwaitAsync(call, store, operation, startedAt);

        static async Task AwaitAsync(Task call, string store, string operation, long startedAt)
        {
            try
            {
                await call;
            }
            finally
            {
                StevedoreMetrics.StoreCall(store, operation, startedAt);
            }
        }
    }
}
